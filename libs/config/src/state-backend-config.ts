import { z } from 'zod';
import { int, type EnvReader } from './env-reader';

/** Where the durable state lives (docs/scale-out.md): files under STATE_DIR, or one PostgreSQL shared by several processes. */
export type StateBackendConfig =
  | { kind: 'files' }
  | {
      kind: 'postgres';
      /** A secret: never logged (it may carry the password). */
      databaseUrl: string;
      poolSize: number;
      leaseTtlMs: number;
      leaseRenewMs: number;
    };

const POSTGRES_URL = z
  .string()
  .refine((value) => URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol));

/** STATE_BACKEND and, for `postgres`, DATABASE_URL, DATABASE_POOL_SIZE, LEASE_TTL_MS and LEASE_RENEW_MS. */
export function readStateBackendConfig(r: EnvReader): { stateBackend: StateBackendConfig } {
  const kind = r.parse('STATE_BACKEND', z.enum(['files', 'postgres']), 'files', '`files` or `postgres`');
  if (kind === 'files') return { stateBackend: { kind } };
  r.require('DATABASE_URL', 'a postgres:// URL', 'with STATE_BACKEND=postgres');
  const databaseUrl = r.optional('DATABASE_URL', POSTGRES_URL, 'a postgres:// or postgresql:// URL') ?? '';
  const poolSize = r.parse('DATABASE_POOL_SIZE', int(1, 1_000), 10, 'an integer, 1 to 1000');
  const before = r.problems.length;
  const leaseTtlMs = r.parse(
    'LEASE_TTL_MS',
    int(1_000, 600_000),
    10_000,
    'an integer of milliseconds, 1000 to 600000',
  );
  const leaseRenewMs = r.parse(
    'LEASE_RENEW_MS',
    int(100, 600_000),
    3_000,
    'an integer of milliseconds, 100 to 600000',
  );
  // A lease must survive one failed renewal and still end locally (one renewal period early)
  // before the database lets another process take it (docs/scale-out.md, Ownership).
  if (r.problems.length === before && leaseTtlMs <= 3 * leaseRenewMs)
    r.problems.push({
      variable: r.raw('LEASE_RENEW_MS') !== undefined ? 'LEASE_RENEW_MS' : 'LEASE_TTL_MS',
      expected: `less than a third of LEASE_TTL_MS (LEASE_TTL_MS ${leaseTtlMs}, LEASE_RENEW_MS ${leaseRenewMs})`,
    });
  return { stateBackend: { kind, databaseUrl, poolSize, leaseTtlMs, leaseRenewMs } };
}
