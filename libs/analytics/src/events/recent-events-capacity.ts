/** How many events GET /api/v1/events can return: the ring buffer's fixed size. */
export const RECENT_EVENTS_CAPACITY = 1000;
