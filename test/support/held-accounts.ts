import type { ServiceProcess } from './service-process';

/**
 * The accounts a service process holds now, with their epochs, as its log says
 * (docs/scale-out.md: `ownership_gained` with the epoch; `ownership_lost` or
 * `ownership_released` when it stops holding one).
 */
export function heldAccounts(p: ServiceProcess): Map<string, number> {
  const held = new Map<string, number>();
  for (const line of p.lines)
    if (line.type === 'ownership_gained') held.set(String(line.account_id), Number(line.epoch));
    else if (line.type === 'ownership_lost' || line.type === 'ownership_released')
      held.delete(String(line.account_id));
  return held;
}
