import type { Deal } from '../broker/broker-types';

/**
 * Why a position of the service closed, for the `position_closed` event: `sl`, `tp`, `stop_out`,
 * or `external` (a person, another program, anything the service did not ask for). `service`
 * means the service's own close (a close signal, a halt, an earlier run's close): not reported.
 * `pending` means the broker's history does not show the closing deal yet.
 */
export type CloseReason = 'sl' | 'tp' | 'stop_out' | 'external' | 'service' | 'pending';

/** The request ids of the service's closes (request-ids.ts): `c-` for a close signal, `h-` for a halt. */
const SERVICE_CLOSE_COMMENT = /^[ch]-[0-9a-f]{20,22}$/;

function isServiceCloseComment(comment: string): boolean {
  return SERVICE_CLOSE_COMMENT.test(comment);
}

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
      // Closes the service sends carry its magic number, and its request id as the comment (a
      // bridge may keep either); another program's carry neither.
      return {
        reason: closing.magic === magic || isServiceCloseComment(closing.comment) ? 'service' : 'external',
        deal: closing,
      };
    case 'client':
    case 'mobile':
    case 'web':
    case 'rollover':
    case 'vmargin':
    case 'split':
      return { reason: 'external', deal: closing };
  }
}
