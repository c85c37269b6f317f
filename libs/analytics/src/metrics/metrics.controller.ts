import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { TradingMetrics } from './trading-metrics';

/** GET /metrics: Prometheus text format, no auth (scraped inside the cluster). */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: TradingMetrics) {}

  @Get()
  async scrape(@Res() response: Response): Promise<void> {
    const { contentType, body } = await this.metrics.render();
    response.setHeader('Content-Type', contentType);
    response.send(body);
  }
}
