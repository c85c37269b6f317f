import { MAX_COMMENT_LENGTH, openRequestId, Retcode } from '@app/core';
import { startFakeMt5Bridge, type BridgeFault } from '../fakes/fake-mt5-bridge';
import { postSignal, signalBody } from './signed-request';
import { startTestApp } from './test-app';

/** The bridge's per-request timeout in chaos runs; the delays below sit just under and over it. */
export const CHAOS_TIMEOUT_MS = 300;

/** Every kind of failure a real bridge shows, with slow answers on both sides of the timeout. */
export const CHAOS_FAULTS: BridgeFault[] = [
  { kind: 'delay', ms: CHAOS_TIMEOUT_MS - 40 },
  { kind: 'delay', ms: CHAOS_TIMEOUT_MS + 60 },
  { kind: 'http', status: 503 },
  { kind: 'http', status: 429, retryAfterSeconds: 0 },
  { kind: 'reset' },
  { kind: 'reset_after_execute' },
  { kind: 'retcode', retcode: Retcode.REQUOTE },
  { kind: 'retcode', retcode: Retcode.CONNECTION },
];

export interface BrokerChaosReport {
  accepted: number;
  executed: number;
  failed: number;
  rejected: number;
  fills: number;
  orderRequests: number;
  chaos: Record<string, number>;
  failureReasons: Record<string, number>;
  elapsedMs: number;
  problems: string[];
}

const SECRET = 'broker-chaos-inbox-secret';

/**
 * One in-process app against a fake bridge that fails `rate` of ALL calls (equity reads, position
 * lists, orders, closes) at random: every accepted signal must end exactly once (executed, failed
 * with a reason, or rejected), never fill twice, and never be reported failed while its order filled.
 */
export async function runBrokerChaos(options: {
  signals: number;
  seed: number;
  rate?: number;
  /** Senders at once. */
  concurrency?: number;
  settleTimeoutMs?: number;
}): Promise<BrokerChaosReport> {
  const started = Date.now();
  const bridge = await startFakeMt5Bridge({ balance: 1_000_000 });
  const t = await startTestApp({
    ...bridge.serviceEnv(),
    MT5_TIMEOUT_MS: String(CHAOS_TIMEOUT_MS),
    SIGNALS_HMAC_SECRET: SECRET,
    MAX_ORDERS_PER_SECOND: '1000',
    EQUITY_CHECK_INTERVAL_MS: '200',
  });
  const problems: string[] = [];
  try {
    bridge.setChaos({ rate: options.rate ?? 0.3, seed: options.seed, faults: CHAOS_FAULTS });
    const accepted: string[] = [];
    let next = 0;
    const sender = async () => {
      while (next < options.signals) {
        next++;
        const body = signalBody({
          instrument: ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'][next % 4],
          side: next % 2 === 0 ? 'buy' : 'sell',
          volume: 0.01,
        });
        const answer = await postSignal(t.baseUrl, SECRET, body);
        if (answer.status === 202) accepted.push(String(body.id));
        else
          problems.push(
            `signal ${String(body.id)} answered ${answer.status}: the inbox does not call the broker`,
          );
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, sender));

    const endsOf = (id: string) =>
      t.events.filter(
        (e) =>
          (e.type === 'trade_executed' || e.type === 'trade_failed' || e.type === 'signal_rejected') &&
          e.payload.signal_id === id,
      );
    // Not met in time is a finding (a signal that never ended, reported below), not a failed wait.
    await t
      .waitForState(
        () => (accepted.every((id) => endsOf(id).length > 0) ? true : undefined),
        'every accepted signal to end',
        options.settleTimeoutMs ?? 60_000,
      )
      .catch(() => undefined);
    bridge.setChaos(undefined);

    const fillsByComment = new Map<string, number>();
    for (const fill of bridge.fillLog)
      fillsByComment.set(fill.comment, (fillsByComment.get(fill.comment) ?? 0) + 1);
    const report: BrokerChaosReport = {
      accepted: accepted.length,
      executed: 0,
      failed: 0,
      rejected: 0,
      fills: bridge.fills,
      orderRequests: bridge.requestsTo('POST', '/v1/orders').length,
      chaos: { ...bridge.chaosCounts },
      failureReasons: {},
      elapsedMs: 0,
      problems,
    };
    for (const id of accepted) {
      const ends = endsOf(id);
      const fills = fillsByComment.get(openRequestId(id).slice(0, MAX_COMMENT_LENGTH)) ?? 0;
      if (ends.length !== 1)
        problems.push(`signal ${id}: ${ends.length} endings (${ends.map((e) => e.type).join(', ')})`);
      if (fills > 1) problems.push(`signal ${id}: ${fills} fills`);
      const end = ends[0];
      if (end?.type === 'trade_executed') {
        report.executed++;
        if (fills !== 1) problems.push(`signal ${id}: executed but ${fills} fills at the broker`);
      }
      if (end?.type === 'trade_failed') {
        report.failed++;
        const reason = end.payload.reason.replace(/[a-z]-[0-9a-f]{22}/g, '<id>');
        report.failureReasons[reason] = (report.failureReasons[reason] ?? 0) + 1;
        if (fills > 0)
          problems.push(
            `signal ${id}: failed (${end.payload.reason}) but its order filled: a hidden position`,
          );
      }
      if (end?.type === 'signal_rejected') report.rejected++;
    }
    report.elapsedMs = Date.now() - started;
    return report;
  } finally {
    await t.close();
    await bridge.close();
  }
}
