import { z } from 'zod';

/**
 * One problem with one variable, ready to log: `{ variable, expected }`. A problem inside
 * ACCOUNTS_FILE also names the account (its id, or `accounts[3]` when the id is the problem)
 * and the key (`bridge.secret_env`, `defaults.channels`).
 */
export interface ConfigProblem {
  variable: string;
  /** What the value must be, in words; never the value itself (it may be a secret). */
  expected: string;
  account?: string;
  key?: string;
}

export type Env = Record<string, string | undefined>;

/**
 * Each variable is parsed on its own so that every bad one is reported, not just the first.
 * An empty string counts as unset (compose and Kubernetes often pass `VAR=`).
 */
export class EnvReader {
  readonly problems: ConfigProblem[] = [];

  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  parse<T>(name: string, schema: z.ZodType<T>, fallback: T, expected: string): T {
    return this.optional(name, schema, expected) ?? fallback;
  }

  optional<T>(name: string, schema: z.ZodType<T>, expected: string): T | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    this.problems.push({ variable: name, expected });
    return undefined;
  }

  require(name: string, expected: string, when: string): void {
    if (this.raw(name) === undefined)
      this.problems.push({ variable: name, expected: `${expected} (required ${when})` });
  }
}

export const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
export const num = () => z.coerce.number().refine(Number.isFinite);
export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
export const httpUrl = z.url({ protocol: /^https?$/ });
export const csv = <T>(item: z.ZodType<T, string>) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0),
    )
    .pipe(z.array(item).min(1));
