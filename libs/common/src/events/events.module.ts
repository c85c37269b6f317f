import { Global, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { EVENT_SINK } from '@app/core';
import { Lifecycle } from '../lifecycle';
import { EventBus } from './event-bus';

@Global()
@Module({
  imports: [EventEmitterModule.forRoot({ wildcard: false, maxListeners: 50 })],
  providers: [EventBus, Lifecycle, { provide: EVENT_SINK, useExisting: EventBus }],
  exports: [EventBus, Lifecycle, EVENT_SINK],
})
export class EventsModule {}
