import type { z } from 'zod';
import type { ConfigProblem } from './env-reader';

/** The variable every problem inside the accounts file is reported under. */
export const ACCOUNTS_FILE = 'ACCOUNTS_FILE';

export type Mapping = Record<string, unknown>;

/** A YAML mapping (or JSON object), not a list, scalar or null. */
export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One mapping of ACCOUNTS_FILE, read key by key like the EnvReader reads variables: each bad key
 * is one problem naming the account (if any) and the key's full path, and reading goes on, so
 * every problem of the file is reported together.
 */
export class MappingReader {
  constructor(
    readonly values: Mapping,
    private readonly problems: ConfigProblem[],
    /** The account's id (or `accounts[3]`); undefined at the top level and in `defaults`. */
    readonly account: string | undefined,
    /** Prepended to every key: `bridge.`, `defaults.`. */
    private readonly prefix = '',
  ) {}

  has(key: string): boolean {
    return Object.hasOwn(this.values, key);
  }

  /** `expected`: what the value must be, never the value (it may be a secret). */
  problem(key: string, expected: string): void {
    const account = this.account === undefined ? {} : { account: this.account };
    this.problems.push({ variable: ACCOUNTS_FILE, ...account, key: this.prefix + key, expected });
  }

  /** The key's value if present and valid; a present, bad value is a problem. */
  read<T>(key: string, schema: z.ZodType<T>, expected: string): T | undefined {
    if (!this.has(key)) return undefined;
    const result = schema.safeParse(this.values[key]);
    if (result.success) return result.data;
    this.problem(key, expected);
    return undefined;
  }

  /** The key's nested mapping if present; anything else there is a problem. */
  mapping(key: string, expected: string): MappingReader | undefined {
    if (!this.has(key)) return undefined;
    const value = this.values[key];
    if (isMapping(value))
      return new MappingReader(value, this.problems, this.account, `${this.prefix}${key}.`);
    this.problem(key, expected);
    return undefined;
  }

  /** A key that may not be here (present at all is the problem, whatever its value). */
  refuse(key: string, expected: string): void {
    if (this.has(key)) this.problem(key, expected);
  }

  /** Every key but `known` (and those refused by name) is a problem: a typo must not pass for a default. */
  refuseUnknown(known: readonly string[], refusedByName: readonly string[] = []): void {
    for (const key of Object.keys(this.values))
      if (!known.includes(key) && !refusedByName.includes(key))
        this.problem(key, `absent: not a known key here (known: ${known.join(', ')})`);
  }
}
