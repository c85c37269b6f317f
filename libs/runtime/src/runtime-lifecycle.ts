import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import {
  AccountRuntime,
  RISK_STATE_STORE,
  STATE_LOAD_REPORT,
  type RiskStateStore,
  type StateLoadReport,
} from '@app/core';

/** Starts the account's runtime once every module is up, and stops its timers when the app closes. */
@Injectable()
export class RuntimeLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    private readonly runtime: AccountRuntime,
    @Inject(RISK_STATE_STORE) private readonly riskState: RiskStateStore,
    @Inject(STATE_LOAD_REPORT) private readonly loaded: StateLoadReport,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.runtime.start({
      riskState: await this.riskState.load(),
      problems: this.loaded.problems,
      ledgerTrusted: this.loaded.ledgerTrusted,
      unfinished: this.loaded.unfinished,
      where: this.loaded.where,
    });
  }

  onModuleDestroy(): void {
    this.runtime.stop();
  }
}
