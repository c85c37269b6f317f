import { Module } from '@nestjs/common';
import { DrawdownModule } from '@app/drawdown';
import { MetricsController } from './metrics/metrics.controller';
import { TradingMetrics } from './metrics/trading-metrics';

@Module({
  imports: [DrawdownModule],
  controllers: [MetricsController],
  providers: [TradingMetrics],
  exports: [TradingMetrics],
})
export class AnalyticsModule {}
