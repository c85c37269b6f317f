import { join } from 'node:path';
import { Global, Logger, Module } from '@nestjs/common';
import { PaperAccount, type BrokerGateway, type Clock } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { BROKER_GATEWAY } from './mt5.tokens';
import { FilePaperAccountPersistence, loadPaperAccountSnapshot } from './paper/file-paper-account-persistence';
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
            return createPaperGateway(config, clock);
          case 'http':
            return createHttpBridgeGateway(config, clock, new Logger('mt5-bridge'));
        }
      },
    },
  ],
  exports: [BROKER_GATEWAY],
})
export class Mt5Module {}

/** The paper account lives in STATE_DIR/paper-account.json, so it survives restarts like a real demo account. */
async function createPaperGateway(config: AppConfig, clock: Clock): Promise<BrokerGateway> {
  const path = join(config.stateDir, 'paper-account.json');
  const options = { balance: config.paper.balance, symbols: config.paper.symbols, seed: config.paper.seed };
  const snapshot = await loadPaperAccountSnapshot(path);
  const account = snapshot === undefined ? new PaperAccount(options) : PaperAccount.restore(snapshot, options);
  return new PaperBrokerGateway(account, clock, new FilePaperAccountPersistence(path));
}
