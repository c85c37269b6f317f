import type { AccountCommand, CommandOutcome, PendingCommand, Scheduler } from '@app/core';
import DataLoader from 'dataloader';
import type { Pool } from 'pg';
import { MAX_ACCOUNTS_PER_READ } from './batched-account-reads';
import type { LeaseFence } from './lease-fence';
import { jsonbText } from './jsonb-text';

/** Notified when a command is written: owners read theirs at once. */
export const COMMANDS_CHANNEL = 'trading_commands';
/** How often a process that asked waits between looks at the outcome. */
const OUTCOME_POLL_MS = 50;

interface CommandRow {
  id: string;
  account_id: string;
  kind: 'halt' | 'resume';
  body: Omit<AccountCommand, 'kind'>;
}

/**
 * Halts and resumes asked on any process (docs/scale-out.md, Any process answers): the command is
 * a row, committed before the caller hears anything, so the owner (this process or another, now
 * or after a takeover) carries it out; a halt asked is never forgotten. The owner records the
 * outcome with a fenced write, which the asking process reads back.
 */
export class PostgresAccountCommands {
  private readonly oneAccount = new DataLoader<string, PendingCommand[]>(
    async (ids) => {
      const pending = await this.read(ids);
      return ids.map((id) => pending.filter((command) => command.accountId === id));
    },
    { cache: false, maxBatchSize: MAX_ACCOUNTS_PER_READ },
  );

  constructor(
    private readonly pool: Pool,
    private readonly fence: LeaseFence,
    private readonly scheduler: Scheduler,
  ) {}

  async request(accountId: string, command: AccountCommand): Promise<number> {
    const { kind, ...body } = command;
    const result = await this.pool.query<{ id: string }>(
      `WITH written AS (
         INSERT INTO account_commands (account_id, kind, body) VALUES ($1, $2, $3) RETURNING id
       )
       SELECT id, pg_notify('${COMMANDS_CHANNEL}', $1) FROM written`,
      [accountId, kind, jsonbText(body)],
    );
    const row = result.rows[0];
    if (row === undefined) throw new Error('the command was not written');
    return Number(row.id);
  }

  async outcome(id: number, waitMs: number): Promise<CommandOutcome | undefined> {
    for (let waited = 0; ; waited += OUTCOME_POLL_MS) {
      const result = await this.pool.query<{ outcome: CommandOutcome | null }>(
        'SELECT outcome FROM account_commands WHERE id = $1 AND done_at IS NOT NULL',
        [id],
      );
      const outcome = result.rows[0]?.outcome;
      if (outcome !== undefined && outcome !== null) return outcome;
      if (waited >= waitMs) return undefined;
      await this.scheduler.sleep(OUTCOME_POLL_MS);
    }
  }

  /**
   * The accounts' commands not carried out yet, oldest first. One account's (asked as it is taken
   * on) are read together with the other accounts' asked in the same tick: a takeover takes
   * hundreds at once.
   */
  async pending(accountIds: readonly string[]): Promise<PendingCommand[]> {
    const [only] = accountIds;
    if (only !== undefined && accountIds.length === 1) return this.oneAccount.load(only);
    return this.read(accountIds);
  }

  private async read(accountIds: readonly string[]): Promise<PendingCommand[]> {
    if (accountIds.length === 0) return [];
    const result = await this.pool.query<CommandRow>(
      `SELECT id, account_id, kind, body FROM account_commands
       WHERE account_id = ANY($1::text[]) AND done_at IS NULL ORDER BY id`,
      [accountIds],
    );
    return result.rows.map((row) => ({
      id: Number(row.id),
      accountId: row.account_id,
      command: { kind: row.kind, ...row.body } as AccountCommand,
    }));
  }

  async complete(command: PendingCommand, outcome: CommandOutcome): Promise<void> {
    await this.fence.write(
      command.accountId,
      `UPDATE account_commands SET done_at = now(), outcome = $5
       WHERE id = $4 AND done_at IS NULL AND EXISTS (SELECT 1 FROM lease)`,
      [command.id, jsonbText(outcome)],
    );
  }
}
