import { join } from 'node:path';
import type { RiskState, RiskStateLoad, RiskStateStore } from '@app/core';
import { ChecksummedJsonFile } from './checksummed-json-file';

/** The halt latch and baselines as `risk-state.json` under STATE_DIR: atomic, fsynced, checksummed. */
export class FileRiskStateStore implements RiskStateStore {
  private readonly file: ChecksummedJsonFile<RiskState>;

  constructor(stateDir: string) {
    this.file = new ChecksummedJsonFile<RiskState>(join(stateDir, 'risk-state.json'));
  }

  load(): Promise<RiskStateLoad> {
    return this.file.load();
  }

  save(state: RiskState): Promise<void> {
    return this.file.save(state);
  }
}
