import { Controller, Get, UseGuards } from '@nestjs/common';
import { AccountRegistry } from '@app/core';
import { AdminTokenGuard, onlyAccount } from '@app/common';
import { AnalyticsService, type AnalyticsReport } from './analytics.service';

/**
 * GET /api/v1/analytics for the one account (409 with several), since the process started. Per
 * account, over a window of its history: HistoryAnalyticsController (docs/history.md).
 */
@Controller('api/v1')
@UseGuards(AdminTokenGuard)
export class AnalyticsController {
  constructor(
    private readonly analytics: AnalyticsService,
    private readonly accounts: AccountRegistry,
  ) {}

  @Get('analytics')
  report(): AnalyticsReport {
    return this.analytics.report(onlyAccount(this.accounts).id);
  }
}
