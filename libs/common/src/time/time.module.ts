import { Global, Module, type OnApplicationShutdown, Inject } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { SCHEDULER } from '@app/core';
import { SystemScheduler } from './system-scheduler';

/** The Scheduler port on real timers, for every module. */
@Global()
@Module({
  providers: [
    {
      provide: SCHEDULER,
      inject: [SchedulerRegistry],
      useFactory: (registry: SchedulerRegistry) => new SystemScheduler(registry),
    },
  ],
  exports: [SCHEDULER],
})
export class TimeModule implements OnApplicationShutdown {
  constructor(@Inject(SCHEDULER) private readonly scheduler: SystemScheduler) {}

  onApplicationShutdown(): void {
    this.scheduler.dispose();
  }
}
