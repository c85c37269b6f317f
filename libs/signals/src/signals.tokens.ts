/** The inbox HMAC secret, resolved at boot (configured, or generated in paper mode). */
export const SIGNALS_HMAC_SECRET = Symbol('SIGNALS_HMAC_SECRET');
