import 'reflect-metadata';
import { pino } from 'pino';
import { SystemScheduler } from '@app/common';
import { loadConfig, type ConfigProblem } from '@app/config';
import { withDeadline } from '@app/core';
import { createApp } from './bootstrap/create-app';
import { GracefulShutdown } from './bootstrap/graceful-shutdown';

/**
 * Entry point. Config is validated before anything else: one log line per bad variable and
 * exit 1, so nothing trades on a typo. Signals reach node directly (run it without npm/sh).
 */
async function main(): Promise<void> {
  const early = pino({ base: { service: 'trading-bot' }, timestamp: pino.stdTimeFunctions.isoTime });
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    for (const problem of loaded.problems) {
      // Inside ACCOUNTS_FILE a problem also names the account and the key.
      const where = {
        ...(problem.account === undefined ? {} : { account_id: problem.account }),
        ...(problem.key === undefined ? {} : { key: problem.key }),
      };
      early.fatal(
        { type: 'config_error', variable: problem.variable, ...where, expected: problem.expected },
        `invalid configuration: ${subjectOf(problem)} must be ${problem.expected}`,
      );
    }
    early.flush();
    process.exitCode = 1;
    return;
  }
  const config = loaded.config;
  for (const warning of loaded.warnings)
    early.warn(
      { type: 'config_warning', variable: warning.variable },
      `configuration: ${warning.variable} should be ${warning.expected}`,
    );
  const { app, secrets } = await createApp(config);
  const shutdown = app.get(GracefulShutdown);
  for (const path of secrets.generated)
    early.info({ path }, 'generated a secret (the file holds it; it is never logged)');
  if (config.adminToken === undefined)
    early.info({ path: `${config.stateDir}/admin-token` }, 'admin token file');

  // Outside Nest (it may be the thing that hangs): its own scheduler on real timers.
  const timers = new SystemScheduler();
  let exiting = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    // A hard stop if the graceful one overruns: 10 s (docs/service.md, Graceful stop), whatever happens.
    timers.after(9800, () => {
      early.error({ type: 'shutdown', signal, forced: true }, 'graceful stop overran 10 s; exiting');
      early.flush();
      process.exit(1);
    });
    shutdown.stop(app, signal).then(
      (code) => {
        early.flush();
        process.exit(code);
      },
      (error: unknown) => {
        early.error({ err: error, type: 'shutdown', signal }, 'graceful stop failed');
        early.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await app.listen(config.port, '0.0.0.0');
  } catch (error) {
    // listen() starts the modules before it binds: without a port there is no API, no kill switch
    // and no probe, so nothing may keep trading. Stop what started, then fail.
    await withDeadline(timers, app.close(), 5000);
    throw error;
  }
}

/** `ACCOUNTS_FILE account bob-mt5 key drawdown_cap_percent`, or just the variable. */
function subjectOf(problem: ConfigProblem): string {
  const account = problem.account === undefined ? '' : ` account ${problem.account}`;
  const key = problem.key === undefined ? '' : ` key ${problem.key}`;
  return `${problem.variable}${account}${key}`;
}

main().catch((error: unknown) => {
  // Start-up failed after config (a port in use, an unreadable STATE_DIR): say why, exit 1.
  pino().fatal(
    { err: error, type: 'startup_failed' },
    `start-up failed: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
