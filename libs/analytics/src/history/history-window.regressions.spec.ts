import { BadRequestException } from '@nestjs/common';
import { parseHistoryWindow } from './history-window';

// docs/history.md: a bad parameter is a 400 naming it. A day that does not exist is taken by
// Date.parse as a later one (2026-02-30 is 2026-03-02): the caller gets figures for a window it
// did not ask for, without a word.
it('refuses a date that does not exist instead of rolling it into the next month', () => {
  const now = Date.UTC(2026, 5, 1);
  expect(() => parseHistoryWindow({ from: '2026-02-30', to: '2026-03-05' }, now)).toThrow(
    BadRequestException,
  );
  // Date.parse alone would answer the window 2026-03-02 .. 2026-03-05.
});
