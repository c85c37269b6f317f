import type { Deal } from '../broker/broker-types';

/**
 * Why a position of the service closed, for the `position_closed` event: `sl`, `tp`, `stop_out`,
 * or `external` (a person, another program, anything the service did not ask for). `service`
 * means the service's own close (a close signal, a halt, an earlier run's close): not reported.
 * `pending` means the broker's history does not show the closing deal yet.
 */
export type CloseReason = 'sl' | 'tp' | 'stop_out' | 'external' | 'service' | 'pending';

export function closeReason(deals: readonly Deal[], magic: number): { reason: CloseReason; deal?: Deal } {
  const closing = deals.filter((deal) => deal.entry === 'out').at(-1);
  if (closing === undefined) return { reason: 'pending' };
  switch (closing.reason) {
    case 'sl':
      return { reason: 'sl', deal: closing };
    case 'tp':
      return { reason: 'tp', deal: closing };
    case 'so':
      return { reason: 'stop_out', deal: closing };
    case 'expert':
      // Closes the service sends carry its magic number; another program's do not.
      return { reason: closing.magic === magic ? 'service' : 'external', deal: closing };
    case 'client':
    case 'mobile':
    case 'web':
    case 'rollover':
    case 'vmargin':
    case 'split':
      return { reason: 'external', deal: closing };
  }
}
