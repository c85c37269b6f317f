import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { AccountRegistry } from '@app/core';
import { accountById, AdminTokenGuard, onlyAccount } from '@app/common';
import { AnalyticsService, type AnalyticsReport } from './analytics.service';

/** GET /api/v1/analytics for the one account (409 with several), and per account (docs/accounts.md). */
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

  @Get('accounts/:id/analytics')
  reportOf(@Param('id') id: string): AnalyticsReport {
    return this.analytics.report(accountById(this.accounts, id).id);
  }
}
