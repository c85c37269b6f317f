import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { STATE_LOAD_REPORT, type BrokerGateway, type Clock } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { BROKER_GATEWAY } from './mt5.tokens';
import { FilePaperAccountStore } from './paper/file-paper-account-store';
import { PaperBrokerGateway } from './paper/paper-broker-gateway';
import { createHttpBridgeGateway } from './http/create-http-bridge-gateway';

/**
 * The broker port and the one place that picks its adapter (MT5_GATEWAY): the embedded paper
 * account or the HTTP bridge to a real terminal. Nothing outside this module knows which.
 */
/** The adapter the factory picked, with what must happen to it at shutdown (nothing for the bridge). */
interface BrokerAdapter {
  gateway: BrokerGateway;
  close(): Promise<void>;
}

const BROKER_ADAPTER = Symbol('BROKER_ADAPTER');

@Global()
@Module({
  providers: [
    {
      provide: BROKER_ADAPTER,
      // STATE_LOAD_REPORT exists once this process owns STATE_DIR: the paper account's files are
      // never opened (let alone compacted) by a process that is about to be refused.
      inject: [APP_CONFIG, CLOCK, STATE_LOAD_REPORT],
      useFactory: async (config: AppConfig, clock: Clock): Promise<BrokerAdapter> => {
        switch (config.mt5.gateway) {
          case 'paper': {
            const paper = await createPaperGateway(config, clock, new Logger('paper-account'));
            // Runs after the graceful stop closed positions: the paper account compacts its journal into the snapshot.
            return { gateway: paper, close: () => paper.close() };
          }
          case 'http': {
            const bridge = createHttpBridgeGateway(config, clock, new Logger('mt5-bridge'));
            return { gateway: bridge, close: async () => bridge.close() };
          }
        }
      },
    },
    {
      provide: BROKER_GATEWAY,
      inject: [BROKER_ADAPTER],
      useFactory: (adapter: BrokerAdapter) => adapter.gateway,
    },
  ],
  exports: [BROKER_GATEWAY],
})
export class Mt5Module implements OnApplicationShutdown {
  private readonly logger = new Logger('mt5');

  constructor(@Inject(BROKER_ADAPTER) private readonly adapter: BrokerAdapter) {}

  async onApplicationShutdown(): Promise<void> {
    try {
      await this.adapter.close();
    } catch (error) {
      // Not rethrown, so the other modules still shut down; the paper journal is intact and replays on the next start.
      this.logger.error(
        `could not close the broker adapter on shutdown: ${error instanceof Error ? error.message : String(error)}`,
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
  if (found !== undefined && (found.replayed > 0 || found.tornTail || found.dropped > 0)) {
    // Only after a crash (a clean stop leaves an empty journal): worth a line for the operator.
    logger.warn(
      `paper account recovered from its journal: ${found.replayed} change(s) replayed onto snapshot seq ${found.snapshotSeq ?? 'none'}` +
        `${found.tornTail ? ', a torn last line (never acknowledged) dropped' : ''}` +
        // Changes after a missing one were never acknowledged as saved: their trades are retried and run again.
        `${found.dropped > 0 ? `, ${found.dropped} change(s) after the missing change ${found.missingChange ?? '?'} not applied` : ''}`,
    );
  }
  return new PaperBrokerGateway(account, clock, store);
}
