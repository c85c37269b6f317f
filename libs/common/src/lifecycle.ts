import { Injectable } from '@nestjs/common';

/** Whether the service is stopping: intake refuses, readiness fails, the loop takes no new tick. */
@Injectable()
export class Lifecycle {
  private stoppingSince: number | null = null;

  beginStopping(now: number): void {
    this.stoppingSince ??= now;
  }

  get stopping(): boolean {
    return this.stoppingSince !== null;
  }
}
