import { Global, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Lifecycle } from '../lifecycle';
import { EventBus } from './event-bus';

@Global()
@Module({
  imports: [EventEmitterModule.forRoot({ wildcard: false, maxListeners: 50 })],
  providers: [EventBus, Lifecycle],
  exports: [EventBus, Lifecycle],
})
export class EventsModule {}
