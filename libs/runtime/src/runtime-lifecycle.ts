import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { TradingAccounts } from './accounts/trading-accounts';

/** Starts the accounts once every module is up, and stops their timers when the app closes. */
@Injectable()
export class RuntimeLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(private readonly accounts: TradingAccounts) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.accounts.start();
  }

  onModuleDestroy(): void {
    this.accounts.stop();
  }
}
