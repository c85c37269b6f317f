import type { HeartbeatStamp } from '@app/core';

/**
 * The heartbeat stamp in a SharedArrayBuffer, read and written with Atomics so the watchdog
 * worker never sees a torn value and reads it even while the main thread is frozen.
 */
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
