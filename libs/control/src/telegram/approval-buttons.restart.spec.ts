/**
 * Approval buttons whose callback data is too long carry an in-memory `#<n>`
 * reference. With accounts, `a:<account>/<signal>` passes 64 bytes for ordinary ids (a 20-char
 * account and a 44-char signal id), so most buttons of a fleet use references. The counter starts
 * at 1 in every process, so the reference also carries a random part of the run: after a restart,
 * an old button still in the chat is unknown, never another signal.
 */
import { ApprovalButtons } from './telegram-command-rules';

describe('ApprovalButtons across a restart', () => {
  it('an Approve button posted before a restart does not approve a different signal after it', () => {
    const account = 'customer-account-0001';
    const before = new ApprovalButtons();
    const oldButton = before.data('approve', 'platform-signal-2026-11-24T10:00:00Z-0001', account);
    expect(oldButton.startsWith('a:#')).toBe(true);

    // The process restarts; the first pending signal it posts is another one.
    const after = new ApprovalButtons();
    after.data('approve', 'platform-signal-2026-11-24T10:05:00Z-0002', account);

    // A person presses the button of the first message (still in the chat).
    const decision = after.parse(oldButton);
    expect(decision).toBeUndefined();
    // In the same run the button still means its signal.
    expect(before.parse(oldButton)).toEqual(
      expect.objectContaining({ signalId: 'platform-signal-2026-11-24T10:00:00Z-0001', accountId: account }),
    );
  });
});
