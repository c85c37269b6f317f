import { z } from 'zod';
import type { Sizing } from './account-config';
import type { MappingReader } from './file-mapping';

/** What an account without `sizing` does: the signal's volume, unchanged. */
export const DEFAULT_SIZING: Sizing = { mode: 'multiplier', value: 1 };

const MODES = ['multiplier', 'fixed', 'risk_percent'] as const;
const MODE_TEXT = '`multiplier`, `fixed` or `risk_percent`';

/** The range of `value` depends on the mode: a factor, lots, or a percent of equity. */
const upTo = (max: number) => z.number().refine((v) => v > 0 && v <= max);
const VALUE_RULES: Record<Sizing['mode'], { rule: z.ZodType<number>; expected: string }> = {
  multiplier: { rule: upTo(1000), expected: 'a number, 0 < x <= 1000 (times the signal volume)' },
  fixed: { rule: upTo(10_000), expected: 'a number of lots, 0 < x <= 10000' },
  risk_percent: { rule: upTo(100), expected: 'a percent of equity, 0 < x <= 100' },
};
const MODE = z.enum(MODES);

/** `sizing: { mode, value }`: both keys, always together (a value means nothing without its mode). */
export function readSizing(m: MappingReader): Sizing | undefined {
  m.refuseUnknown(['mode', 'value']);
  if (!m.has('mode')) m.problem('mode', `${MODE_TEXT} (required)`);
  if (!m.has('value')) m.problem('value', 'a number (required)');
  const mode = m.read('mode', MODE, MODE_TEXT);
  // With no valid mode there is no range to check the value against: the mode's problem says enough.
  if (mode === undefined) return undefined;
  const { rule, expected } = VALUE_RULES[mode];
  const value = m.read('value', rule, expected);
  return value === undefined ? undefined : { mode, value };
}
