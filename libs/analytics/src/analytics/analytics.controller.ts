import { Controller, Get, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from '@app/common';
import { AnalyticsService, type AnalyticsReport } from './analytics.service';

@Controller('api/v1/analytics')
@UseGuards(AdminTokenGuard)
export class AnalyticsController {
  constructor(private readonly analytics: AnalyticsService) {}

  @Get()
  report(): AnalyticsReport {
    return this.analytics.report();
  }
}
