/**
 * Where the last heartbeat time is written for readers outside the main thread (the watchdog
 * worker reads it from shared memory, so it works while the main thread is frozen).
 */
export interface HeartbeatStamp {
  stamp(epochMs: number): void;
  lastStamp(): number;
}

export const HEARTBEAT_STAMP = Symbol('HEARTBEAT_STAMP');

/** The stamp in a SharedArrayBuffer, read and written with Atomics so a worker never sees a torn value. */
export class SharedHeartbeatStamp implements HeartbeatStamp {
  readonly buffer = new SharedArrayBuffer(8);
  private readonly view = new BigInt64Array(this.buffer);

  stamp(epochMs: number): void {
    Atomics.store(this.view, 0, BigInt(Math.round(epochMs)));
  }

  lastStamp(): number {
    return Number(Atomics.load(this.view, 0));
  }
}
