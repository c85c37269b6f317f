export * from './heartbeat/heartbeat-stamp';
export * from './heartbeat/heartbeat.service';
export * from './loop/trading-loop';
export * from './runtime.module';
