import { Module } from '@nestjs/common';
import { AnalyticsModule } from '@app/analytics';
import { ADMIN_TOKEN } from '@app/common';
import { CLOCK } from '@app/config';
import type { Clock } from '@app/core';
import { RuntimeModule } from '@app/runtime';
import { DashboardApiController } from './dashboard-api.controller';
import { DashboardAssets } from './dashboard-assets';
import { DashboardController } from './dashboard.controller';
import { DashboardSessions } from './dashboard-sessions';
import { LoopbackApi } from './loopback-api';

/** GET /dashboard: the operator's page, its sign-in and its session-scoped API (docs/dashboard.md). */
@Module({
  imports: [RuntimeModule, AnalyticsModule],
  controllers: [DashboardController, DashboardApiController],
  providers: [
    {
      provide: DashboardSessions,
      inject: [CLOCK],
      useFactory: (clock: Clock) => new DashboardSessions(clock),
    },
    { provide: DashboardAssets, useFactory: () => new DashboardAssets() },
    { provide: LoopbackApi, inject: [ADMIN_TOKEN], useFactory: (token: string) => new LoopbackApi(token) },
  ],
})
export class DashboardModule {}
