import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort, ServiceProcess } from './support/service-process';
import { waitUntil } from './support/wait-until';

/**
 * The repository's Prometheus config and alert rules, evaluated by a real Prometheus (Debian's
 * package; .ci/run installs it) against the compiled service: the heartbeat metric is fresh, and
 * the stale-heartbeat alert fires when the trading loop stops making progress.
 */
const root = join(__dirname, '..');
const RULES = join(root, 'deploy/prometheus/trading-bot.rules.yml');
const CONFIG = join(root, 'deploy/prometheus/prometheus.yml');
const DASHBOARD = join(root, 'deploy/grafana/trading-bot.dashboard.json');
const ADMIN_TOKEN = 'prometheus-e2e-admin-token';

function findOnPath(binary: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin'];
  return dirs.map((dir) => join(dir, binary)).find((path) => existsSync(path));
}
const prometheusBin = findOnPath('prometheus');
const promtoolBin = findOnPath('promtool');
if (prometheusBin === undefined) {
  console.warn(
    'SKIPPED test/prometheus.e2e-spec.ts: /usr/bin/prometheus is missing. Install it: apt-get install -y --no-install-recommends prometheus',
  );
}
const describeWithPrometheus = prometheusBin === undefined ? describe.skip : describe;

type Rule = { alert?: string; expr: string; for?: string };
type RuleFile = { groups: { name: string; rules: Rule[] }[] };

/**
 * The repository's rules with test timings, by an explicit transform: the stale threshold 60 s
 * becomes 4 s and every `for:` 1 s. Everything else (expressions, labels) is evaluated as shipped.
 */
function rulesForTest(): { text: string; rules: Rule[] } {
  const file = parse(readFileSync(RULES, 'utf8')) as RuleFile;
  const rules = file.groups.flatMap((g) => g.rules);
  const stale = rules.find((r) => r.alert === 'TradingHeartbeatStale');
  expect(stale?.expr).toContain('time() - trading_heartbeat_timestamp_seconds > 60');
  stale!.expr = stale!.expr.replace(
    'time() - trading_heartbeat_timestamp_seconds > 60',
    'time() - trading_heartbeat_timestamp_seconds > 4',
  );
  for (const rule of rules) if (rule.for !== undefined) rule.for = '1s';
  return { text: stringify(file), rules };
}

/** The compose stack's prometheus.yml, pointed at the test service, with 1 s intervals. */
function configForTest(target: string, rulesPath: string): string {
  const config = parse(readFileSync(CONFIG, 'utf8'));
  config.global = { ...config.global, scrape_interval: '1s', evaluation_interval: '1s' };
  config.rule_files = [rulesPath];
  const job = (config.scrape_configs as { job_name: string; static_configs: { targets: string[] }[] }[]).find(
    (s) => s.job_name === 'trading-bot',
  );
  expect(job).toBeDefined();
  job!.static_configs = [{ targets: [target] }];
  return stringify(config);
}

/** `probe` until it answers something; a probe that throws (Prometheus not up yet) answers nothing. */
function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  diagnostics: () => string,
): Promise<T> {
  return waitUntil(() => probe().catch(() => undefined), {
    what,
    timeoutMs,
    intervalMs: 250,
    detail: () => `\n${diagnostics()}`,
  });
}

describe('Prometheus rule file (promtool)', () => {
  const maybe = promtoolBin === undefined ? it.skip : it;
  maybe('promtool check rules accepts deploy/prometheus/trading-bot.rules.yml', () => {
    const run = spawnSync(promtoolBin!, ['check', 'rules', RULES], { encoding: 'utf8', timeout: 20_000 });
    expect({ status: run.status, out: run.stdout + run.stderr }).toEqual({
      status: 0,
      out: expect.stringContaining('SUCCESS'),
    });
  });
});

describeWithPrometheus('a real Prometheus scraping the service with the repository rules', () => {
  let service: ServiceProcess;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = '';
  let workDir: string;
  let api: string;

  const query = async (
    expr: string,
  ): Promise<{
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  }> => {
    const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await response.json()) as never;
  };
  const alerts = async (): Promise<{ labels: { alertname: string }; state: string }[]> => {
    const response = await fetch(`${api}/api/v1/alerts`);
    return (
      (await response.json()) as { data: { alerts: { labels: { alertname: string }; state: string }[] } }
    ).data.alerts;
  };
  /** When Prometheus last evaluated the TradingHeartbeatStale rule (RFC 3339, from /api/v1/rules). */
  const staleRuleEvaluatedAt = async (): Promise<string> => {
    const response = await fetch(`${api}/api/v1/rules`);
    const body = (await response.json()) as {
      data: { groups: { rules: { name: string; lastEvaluation: string }[] }[] };
    };
    const rule = body.data.groups.flatMap((g) => g.rules).find((r) => r.name === 'TradingHeartbeatStale');
    if (rule === undefined) throw new Error('TradingHeartbeatStale is not among the loaded rules');
    return rule.lastEvaluation;
  };
  const firing = async (name: string) =>
    (await alerts()).some((a) => a.labels.alertname === name && a.state === 'firing') ? true : undefined;
  const diagnostics = () =>
    `prometheus:\n${prometheusLog.slice(-2000)}\nservice:\n${service?.rawStdout.slice(-10).join('\n')}`;
  const admin = (path: string, body: unknown) =>
    fetch(`${service.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    ServiceProcess.buildOnce();
    service = await ServiceProcess.start({
      HEARTBEAT_INTERVAL_MS: '500',
      HEARTBEAT_STALE_AFTER_MS: '3000',
      DEBUG_FAULTS: 'true',
      ADMIN_TOKEN,
      CLOSE_ON_SHUTDOWN: 'false',
    });
    await service.waitUntilReady();
    await service.waitForLine((l) => l.type === 'heartbeat');

    workDir = await mkdtemp(join(tmpdir(), 'prometheus-e2e-'));
    const rulesPath = join(workDir, 'trading-bot.rules.yml');
    await writeFile(rulesPath, rulesForTest().text);
    const configPath = join(workDir, 'prometheus.yml');
    await writeFile(configPath, configForTest(`127.0.0.1:${service.port}`, rulesPath));
    if (promtoolBin !== undefined) {
      const check = spawnSync(promtoolBin, ['check', 'config', configPath], { encoding: 'utf8' });
      if (check.status !== 0)
        throw new Error(`promtool check config failed:\n${check.stdout}${check.stderr}`);
    }

    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      prometheusBin!,
      [
        `--config.file=${configPath}`,
        `--storage.tsdb.path=${join(workDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    prometheus.stdout?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
    prometheus.stderr?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
    await until(
      'Prometheus ready',
      async () => ((await fetch(`${api}/-/ready`)).status === 200 ? true : undefined),
      20_000,
      diagnostics,
    );
  }, 150_000);

  afterAll(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null) {
      const child = prometheus;
      const exited = () => child.exitCode !== null || child.signalCode !== null;
      child.kill('SIGTERM');
      await waitUntil(exited, { what: 'Prometheus to exit on SIGTERM', timeoutMs: 5_000 }).catch(
        () => undefined,
      );
      if (!exited()) child.kill('SIGKILL');
    }
    await service?.stop();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it('scrapes trading_heartbeat_timestamp_seconds from the service, and it is fresh', async () => {
    const scraped = await until(
      'a scrape of trading_heartbeat_timestamp_seconds',
      async () => {
        const answer = await query('trading_heartbeat_timestamp_seconds');
        const sample = answer.data.result[0];
        return sample !== undefined && Number(sample.value[1]) > 0 ? sample : undefined;
      },
      15_000,
      diagnostics,
    );
    expect(scraped.metric).toMatchObject({ job: 'trading-bot', instance: `127.0.0.1:${service.port}` });
    const fresh = await query('time() - trading_heartbeat_timestamp_seconds < 5');
    expect(fresh.status).toBe('success');
    expect(fresh.data.result).toHaveLength(1);
    // Before the first scrape `absent(...)` holds, so the alert may be pending or firing for a
    // moment; with fresh heartbeats it must resolve within a few evaluations and stay resolved.
    const staleAlerts = async () =>
      (await alerts()).filter((a) => a.labels.alertname === 'TradingHeartbeatStale');
    await until(
      'TradingHeartbeatStale resolved',
      async () => ((await staleAlerts()).length === 0 ? true : undefined),
      5_000,
      diagnostics,
    );
    // Stays resolved: Prometheus evaluates the rule twice more (the 2 s the evaluation interval
    // of 1 s allows, scrapes between them), and a stale heartbeat would make it pending at once.
    const evaluations = new Set<string>();
    const firstSeen = await staleRuleEvaluatedAt();
    await until(
      'two more evaluations of TradingHeartbeatStale',
      async () => {
        const at = await staleRuleEvaluatedAt();
        if (at !== firstSeen) evaluations.add(at);
        return evaluations.size >= 2 ? true : undefined;
      },
      10_000,
      diagnostics,
    );
    expect(await staleAlerts()).toEqual([]);
  });

  it('fires TradingHeartbeatStale while the trading loop is stalled (heartbeats stop)', async () => {
    const stalledAt = Date.now();
    expect((await admin('/api/v1/debug/stall-loop', { ms: 15_000 })).status).toBe(200);
    await until('TradingHeartbeatStale firing', () => firing('TradingHeartbeatStale'), 14_000, diagnostics);
    // It fired because of the stall (threshold 4 s + for 1 s), not before it.
    expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(4_000);
    const age = await query('time() - trading_heartbeat_timestamp_seconds');
    expect(Number(age.data.result[0].value[1])).toBeGreaterThan(4);
  }, 30_000);

  it('fires TradingHalted when trading is halted', async () => {
    expect(await firing('TradingHalted')).toBeUndefined();
    expect((await admin('/api/v1/halt', { reason: 'prometheus e2e' })).status).toBe(200);
    await until('TradingHalted firing', () => firing('TradingHalted'), 15_000, diagnostics);
  }, 30_000);

  it('every dashboard expression is valid PromQL for this Prometheus, and the state panels have data', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const asGrafana = (expr: string) =>
      expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m').replaceAll('$instance', '.*');
    const answers = await Promise.all(
      dashboard.panels.flatMap((panel) =>
        (panel.targets ?? []).map(async (t) => ({
          panel: panel.title,
          expr: t.expr,
          answer: await query(asGrafana(t.expr)),
        })),
      ),
    );
    expect(answers.filter((a) => a.answer.status !== 'success').map((a) => a.expr)).toEqual([]);
    const empty = answers.filter(
      (a) =>
        ['Heartbeat age', 'Trading state', 'Open positions', 'Equity', 'Drawdown against the cap'].includes(
          a.panel,
        ) && a.answer.data.result.length === 0,
    );
    expect(empty.map((a) => a.expr)).toEqual([]);
  });
});
