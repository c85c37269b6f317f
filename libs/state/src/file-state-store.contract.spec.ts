import type { AuditEntry } from '@app/core';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore } from './file-state-store';
import { describeStateBackendContract } from './testing/state-backend-contract';

async function openStore(dir: string): Promise<FileStateStore> {
  const store = new FileStateStore(dir, (accountId) => join(dir, 'accounts', accountId));
  await store.open();
  return store;
}

describeStateBackendContract('files under STATE_DIR', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'state-contract-'));
  let store = await openStore(dir);
  return {
    backend: store,
    reopen: async () => {
      await store.close();
      store = await openStore(dir);
      return store;
    },
    storedAudit: async (accountId) => {
      const text = await readFile(join(dir, 'accounts', accountId, 'audit.jsonl'), 'utf8');
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as AuditEntry);
    },
    teardown: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
