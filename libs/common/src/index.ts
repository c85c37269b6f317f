export * from './events/event-bus';
export * from './events/events.module';
export * from './http/admin-token.guard';
export * from './http/admin-token.token';
export * from './http/parse-body';
export * from './lifecycle';
