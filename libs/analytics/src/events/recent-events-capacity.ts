/** How many events GET /api/v1/events can return: the ring buffer's fixed size. */
export const RECENT_EVENTS_CAPACITY = 1000;

/** How many of an account's own events GET /api/v1/accounts/:id/events can return (thousands of accounts: kept small). */
export const ACCOUNT_RECENT_EVENTS_CAPACITY = 100;
