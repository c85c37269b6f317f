/** Injection token for the validated `AppConfig`. */
export const APP_CONFIG = Symbol('APP_CONFIG');

/** Injection token for the `Clock` (from @app/core): SystemClock in production, ManualClock in tests. */
export const CLOCK = Symbol('CLOCK');
