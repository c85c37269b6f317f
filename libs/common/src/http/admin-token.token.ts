/** The admin bearer token, resolved at boot (configured, or generated into STATE_DIR/admin-token). */
export const ADMIN_TOKEN = Symbol('ADMIN_TOKEN');
