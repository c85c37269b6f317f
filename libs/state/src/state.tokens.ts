/** The state store port: durable halt latch, baselines, signal ledger and audit log under STATE_DIR. */
export const STATE_STORE = Symbol('STATE_STORE');
