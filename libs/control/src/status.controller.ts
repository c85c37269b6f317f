import { Controller, Get, Inject, UseGuards } from '@nestjs/common';
import { AccountRegistry, ProcessHeartbeat } from '@app/core';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { AdminTokenGuard, Lifecycle, onlyAccount } from '@app/common';
import { accountPositions, accountStatus } from './accounts/account-view';

/** The single-account status and positions (docs/service.md); 409 when the process trades several accounts. */
@Controller('api/v1')
@UseGuards(AdminTokenGuard)
export class StatusController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounts: AccountRegistry,
    private readonly heartbeat: ProcessHeartbeat,
    private readonly lifecycle: Lifecycle,
  ) {}

  @Get('status')
  status() {
    const runtime = onlyAccount(this.accounts);
    return accountStatus(
      runtime,
      this.config.loopId,
      this.lifecycle.stopping,
      this.heartbeat.lastHeartbeatAt,
    );
  }

  @Get('positions')
  positions() {
    return accountPositions(onlyAccount(this.accounts));
  }
}
