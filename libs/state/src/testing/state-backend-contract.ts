import type { AuditEntry, RiskState, StateBackend, TradeSignal } from '@app/core';

/** The accounts the contract writes for: a fixture must let the test own them (PostgreSQL: hold their leases). */
export const CONTRACT_ACCOUNTS = ['acct-a', 'acct-b', 'acct-c'] as const;

/** One backend under test, on storage of its own. */
export interface StateBackendFixture {
  backend: StateBackend;
  /** The same storage opened anew, as a restart (or another process taking over) would: closes `backend`. */
  reopen(): Promise<StateBackend>;
  /** The audit entries of an account as stored, oldest first, read around the backend under test. */
  storedAudit(accountId: string): Promise<AuditEntry[]>;
  teardown(): Promise<void>;
}

const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);

function signal(id: string, extra: Partial<TradeSignal> = {}): TradeSignal {
  return {
    id,
    instrument: 'EURUSD',
    side: 'buy',
    volume: 0.1,
    createdAtMs: T0 - 50,
    receivedAtMs: T0,
    source: 'inbox',
    ...extra,
  };
}

/**
 * The behaviour every StateBackend (files under STATE_DIR, PostgreSQL) must show: the same tests
 * run against each (docs/scale-out.md, Tests). `setup` runs before each test and gives a backend
 * on empty storage.
 */
export function describeStateBackendContract(name: string, setup: () => Promise<StateBackendFixture>): void {
  describe(`StateBackend contract: ${name}`, () => {
    const [A, B, C] = CONTRACT_ACCOUNTS;
    let fixture: StateBackendFixture;
    let backend: StateBackend;

    beforeEach(async () => {
      fixture = await setup();
      backend = fixture.backend;
    });

    afterEach(async () => {
      await fixture.teardown();
    });

    const reopen = async () => {
      backend = await fixture.reopen();
      return backend;
    };

    it('claims an id once; the same id again is a duplicate, even with other targets, also after a reopen', async () => {
      expect(await backend.ledger.claim(signal('s-1'), { accepted: [A], rejected: [] }, T0)).toBe('claimed');
      expect(await backend.ledger.claim(signal('s-1'), { accepted: [A], rejected: [] }, T0 + 1)).toBe(
        'duplicate',
      );
      expect(await backend.ledger.claim(signal('s-1'), { accepted: [B], rejected: [C] }, T0 + 2)).toBe(
        'duplicate',
      );
      expect(backend.ledger.seen('s-1')).toBe(true);

      await reopen();
      expect(await backend.ledger.claim(signal('s-1'), { accepted: [B], rejected: [] }, T0 + 3)).toBe(
        'duplicate',
      );
      // The duplicates wrote nothing: B was never given the signal.
      expect((await backend.openAccount(B)).loaded.unfinished).toEqual([]);
      expect((await backend.openAccount(A)).loaded.unfinished.map((u) => u.signal.id)).toEqual(['s-1']);
    });

    it('lets exactly one of concurrent claims of one id win', async () => {
      const outcomes = await Promise.all(
        [0, 1, 2].map(() => backend.ledger.claim(signal('s-race'), { accepted: [A], rejected: [] }, T0)),
      );
      expect(outcomes.sort()).toEqual(['claimed', 'duplicate', 'duplicate']);
    });

    it('gives the accepted targets the whole signal as unfinished work and records the rejected ones as finished', async () => {
      const full = signal('s-2', { sl: 1.08, tp: 1.1, channel: 'gold', approvedAtMs: T0 - 10 });
      expect(
        await backend.ledger.claim(full, { accepted: [A, B], rejected: [C], reason: 'halted' }, T0),
      ).toBe('claimed');

      await reopen();
      expect((await backend.openAccount(A)).loaded.unfinished).toEqual([
        { signal: full, status: 'accepted' },
      ]);
      expect((await backend.openAccount(B)).loaded.unfinished).toEqual([
        { signal: full, status: 'accepted' },
      ]);
      expect((await backend.openAccount(C)).loaded.unfinished).toEqual([]);
    });

    it('keeps the signal without its accounts list: the targets say who trades it', async () => {
      await backend.ledger.claim(
        signal('s-listed', { accounts: [A, B] }),
        { accepted: [A], rejected: [B] },
        T0,
      );
      await reopen();
      expect((await backend.openAccount(A)).loaded.unfinished).toEqual([
        { signal: signal('s-listed'), status: 'accepted' },
      ]);
    });

    it("moves one account's status on without touching the others, and the move survives a reopen", async () => {
      await backend.ledger.claim(signal('s-3'), { accepted: [A, B], rejected: [] }, T0);
      await backend.ledger.update(A, 's-3', 'approved', T0 + 10);
      await backend.ledger.update(B, 's-3', 'approved', T0 + 10);
      await backend.ledger.update(B, 's-3', 'executed', T0 + 20, { request_id: 'r-1', ticket: 42 });

      await reopen();
      expect((await backend.openAccount(A)).loaded.unfinished).toEqual([
        { signal: signal('s-3'), status: 'approved' },
      ]);
      expect((await backend.openAccount(B)).loaded.unfinished).toEqual([]);
    });

    it('opens with exactly the non-final work, in arrival order, with the whole signal, trusted and without problems', async () => {
      const ids = ['u-accepted', 'u-approved', 'u-executed', 'u-failed', 'u-rejected', 'u-late'];
      for (const [i, id] of ids.entries())
        await backend.ledger.claim(
          signal(id, { createdAtMs: T0 + i }),
          { accepted: [A], rejected: [] },
          T0 + i,
        );
      await backend.ledger.update(A, 'u-approved', 'approved', T0 + 10);
      await backend.ledger.update(A, 'u-executed', 'approved', T0 + 10);
      await backend.ledger.update(A, 'u-executed', 'executed', T0 + 20, { request_id: 'r-2', ticket: 7 });
      await backend.ledger.update(A, 'u-failed', 'failed', T0 + 20, { reason: 'NO_MONEY' });
      await backend.ledger.update(A, 'u-rejected', 'rejected', T0 + 20, { reason: 'rejected by alice' });

      const opened = await (await reopen()).openAccount(A);
      expect(opened.loaded.unfinished).toEqual([
        { signal: signal('u-accepted', { createdAtMs: T0 }), status: 'accepted' },
        { signal: signal('u-approved', { createdAtMs: T0 + 1 }), status: 'approved' },
        { signal: signal('u-late', { createdAtMs: T0 + 5 }), status: 'accepted' },
      ]);
      expect(opened.loaded.ledgerTrusted).toBe(true);
      expect(opened.loaded.problems).toEqual([]);
      expect(opened.loaded.where).not.toBe('');
    });

    it('has no risk state at first, then loads what was saved, exactly, after a reopen', async () => {
      const account = await backend.openAccount(A);
      expect(await account.riskState.load()).toEqual({ kind: 'absent' });

      const state: RiskState = {
        baselineEquity: 10_000.1 + 0.2,
        baselineSetAt: T0,
        peakEquity: 10_250.37,
        daily: { day: '2026-11-30', anchorEquity: 9_999.99 },
        halt: {
          id: 'h-1',
          reason: 'drawdown 5.2% >= cap 5%',
          source: 'drawdown_cap',
          at: T0 + 5,
          drawdownPercent: 5.2,
          capPercent: 5,
          announcedAt: null,
          reportedAt: null,
        },
      };
      await account.riskState.save({ ...state, halt: null });
      await account.riskState.save(state);

      const reopened = await (await reopen()).openAccount(A);
      expect(await reopened.riskState.load()).toEqual({ kind: 'loaded', value: state });
      expect(await (await backend.openAccount(B)).riskState.load()).toEqual({ kind: 'absent' });
    });

    it('keeps every audit entry appended, in order, per account', async () => {
      const a = await backend.openAccount(A);
      const b = await backend.openAccount(B);
      const entries: AuditEntry[] = [
        { at: T0, action: 'halted', reason: 'drawdown_cap', drawdownPercent: 5.25 },
        { at: T0 + 1, action: 'close_all_done', closed: 3 },
      ];
      for (const entry of entries) await a.audit.append(entry);
      await b.audit.append({ at: T0 + 2, action: 'resumed', by: 'alice' });

      await reopen();
      expect(await fixture.storedAudit(A)).toEqual(entries);
      expect(await fixture.storedAudit(B)).toEqual([{ at: T0 + 2, action: 'resumed', by: 'alice' }]);
    });
  });
}
