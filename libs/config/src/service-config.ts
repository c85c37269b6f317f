import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AppConfig } from './app-config';
import { bool, int, type EnvReader } from './env-reader';

export type ServiceConfig = Pick<
  AppConfig,
  | 'port'
  | 'logLevel'
  | 'loopId'
  | 'loopTickMs'
  | 'heartbeatIntervalMs'
  | 'heartbeatStaleAfterMs'
  | 'stateDir'
  | 'closeOnShutdown'
  | 'adminToken'
  | 'viewerToken'
  | 'debugFaults'
>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Reads the process: port, log level, loop, heartbeat, state dir, close on shutdown, admin token,
 * debug. `closeByDefault`: false when several processes share the accounts (a stopping process
 * hands them over rather than closing their positions, docs/scale-out.md).
 */
export function readServiceConfig(r: EnvReader, closeByDefault = true): ServiceConfig {
  const port = r.parse('PORT', int(0, 65_535), 3000, 'a TCP port, 0 to 65535');
  const logLevel = r.parse('LOG_LEVEL', z.enum(LOG_LEVELS), 'info', `one of ${LOG_LEVELS.join(', ')}`);
  const loopId = r.parse(
    'LOOP_ID',
    z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/),
    randomUUID(),
    '1-64 of [A-Za-z0-9._:-]',
  );
  const loopTickMs = r.parse('LOOP_TICK_MS', int(1, 60_000), 250, 'an integer of milliseconds, 1 to 60000');
  const { heartbeatIntervalMs, heartbeatStaleAfterMs } = readHeartbeat(r);
  const adminToken = r.optional('ADMIN_TOKEN', z.string().min(16), 'at least 16 characters');
  return {
    port,
    logLevel,
    loopId,
    loopTickMs,
    heartbeatIntervalMs,
    heartbeatStaleAfterMs,
    stateDir: r.parse('STATE_DIR', z.string(), './var', 'a directory path'),
    closeOnShutdown: r.parse('CLOSE_ON_SHUTDOWN', bool, closeByDefault, '`true` or `false`'),
    adminToken,
    viewerToken: readViewerToken(r, adminToken),
    debugFaults: r.parse('DEBUG_FAULTS', bool, false, '`true` or `false`'),
  };
}

/**
 * The dashboard's read-only sign-in token. It must differ from ADMIN_TOKEN: the same value would
 * make every viewer an admin.
 */
function readViewerToken(r: EnvReader, adminToken: string | undefined): string | undefined {
  const viewerToken = r.optional('VIEWER_TOKEN', z.string().min(16), 'at least 16 characters');
  if (viewerToken !== undefined && viewerToken === adminToken) {
    r.problems.push({ variable: 'VIEWER_TOKEN', expected: 'different from ADMIN_TOKEN' });
    return undefined;
  }
  return viewerToken;
}

/** The heartbeat's interval and stale threshold, and the check that the first is below the second. */
function readHeartbeat(r: EnvReader): Pick<ServiceConfig, 'heartbeatIntervalMs' | 'heartbeatStaleAfterMs'> {
  const problemsBefore = r.problems.length;
  const heartbeatIntervalMs = r.parse(
    'HEARTBEAT_INTERVAL_MS',
    int(10, 3_600_000),
    10_000,
    'an integer of milliseconds, 10 to 3600000',
  );
  const heartbeatStaleAfterMs = r.parse(
    'HEARTBEAT_STALE_AFTER_MS',
    int(10, 86_400_000),
    60_000,
    'an integer of milliseconds, 10 to 86400000',
  );
  // A bad value is already named once: no second complaint about the pair.
  const alreadyBad = r.problems.length > problemsBefore;
  // Checked with either one defaulted too: an interval at or above the default threshold would fail liveness forever.
  if (heartbeatStaleAfterMs <= heartbeatIntervalMs && !alreadyBad) {
    if (r.raw('HEARTBEAT_STALE_AFTER_MS') !== undefined) {
      r.problems.push({
        variable: 'HEARTBEAT_STALE_AFTER_MS',
        expected: `more than HEARTBEAT_INTERVAL_MS (${heartbeatIntervalMs})`,
      });
    } else {
      r.problems.push({
        variable: 'HEARTBEAT_INTERVAL_MS',
        expected: `less than HEARTBEAT_STALE_AFTER_MS (${heartbeatStaleAfterMs})`,
      });
    }
  }
  return { heartbeatIntervalMs, heartbeatStaleAfterMs };
}
