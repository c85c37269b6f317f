import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { BrokerGateway, Clock } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { BROKER_GATEWAY } from './mt5.tokens';
import { FilePaperAccountStore } from './paper/file-paper-account-store';
import { PaperBrokerGateway } from './paper/paper-broker-gateway';
import { createHttpBridgeGateway } from './http/create-http-bridge-gateway';

/**
 * The broker port and the one place that picks its adapter (MT5_GATEWAY): the embedded paper
 * account or the HTTP bridge to a real terminal. Nothing outside this module knows which.
 */
@Global()
@Module({
  providers: [
    {
      provide: BROKER_GATEWAY,
      inject: [APP_CONFIG, CLOCK],
      useFactory: async (config: AppConfig, clock: Clock): Promise<BrokerGateway> => {
        switch (config.mt5.gateway) {
          case 'paper':
            return createPaperGateway(config, clock, new Logger('paper-account'));
          case 'http':
            return createHttpBridgeGateway(config, clock, new Logger('mt5-bridge'));
        }
      },
    },
  ],
  exports: [BROKER_GATEWAY],
})
export class Mt5Module implements OnApplicationShutdown {
  private readonly logger = new Logger('paper-account');

  constructor(@Inject(BROKER_GATEWAY) private readonly gateway: BrokerGateway) {}

  /** Runs after the graceful stop closed positions: the paper account compacts its journal into the snapshot. */
  async onApplicationShutdown(): Promise<void> {
    if (!(this.gateway instanceof PaperBrokerGateway)) return;
    try {
      await this.gateway.close();
    } catch (error) {
      // Not rethrown, so the other modules still shut down; the journal is intact and replays on the next start.
      this.logger.error(
        `could not compact the paper account on shutdown: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

/**
 * The paper account lives in STATE_DIR (paper-account.json plus its journal), so it survives
 * restarts, and crashes, like a real demo account.
 */
async function createPaperGateway(
  config: AppConfig,
  clock: Clock,
  logger: Logger,
): Promise<PaperBrokerGateway> {
  const store = new FilePaperAccountStore(config.stateDir);
  const account = await store.open({
    balance: config.paper.balance,
    symbols: config.paper.symbols,
    seed: config.paper.seed,
    stopOutLevelPercent: config.paper.stopOutLevelPercent,
  });
  const found = store.opened;
  if (found !== undefined && (found.replayed > 0 || found.tornTail)) {
    // Only after a crash (a clean stop leaves an empty journal): worth a line for the operator.
    logger.warn(
      `paper account recovered from its journal: ${found.replayed} change(s) replayed onto snapshot seq ${found.snapshotSeq ?? 'none'}` +
        `${found.tornTail ? ', a torn last line (never acknowledged) dropped' : ''}`,
    );
  }
  return new PaperBrokerGateway(account, clock, store);
}
