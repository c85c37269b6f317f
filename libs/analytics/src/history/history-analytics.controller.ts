import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import {
  AccountRegistry,
  HISTORY_STORE,
  HistoryAnalyticsFold,
  isValidCapPercent,
  WhatIfHistoryFold,
  type Clock,
  type HistoryStore,
  type TradingEventType,
  type WhatIfReport,
  type WindowAnalyticsReport,
} from '@app/core';
import { AdminTokenGuard } from '@app/common';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { historyAccountId } from './history-account';
import { invalid, parseHistoryWindow } from './history-window';

/** The events the what-if replay and its real figures read: not trades' details. */
const WHAT_IF_TYPES: readonly TradingEventType[] = [
  'equity_sample',
  'signal_received',
  'signal_rejected',
  'trade_executed',
  'trade_failed',
  'positions_closed',
  'resumed',
  'halted',
  'drawdown_cap_triggered',
];
const DEFAULT_CAPS = [10, 15, 20, 25];
const MAX_CAPS = 20;

/**
 * An account's analytics over a window of its history, and the what-if replay of that window
 * against other caps (docs/history.md). Both fold the history a page at a time: memory stays
 * fixed whatever the window.
 */
@Controller('api/v1/accounts/:id')
@UseGuards(AdminTokenGuard)
export class HistoryAnalyticsController {
  constructor(
    @Inject(HISTORY_STORE) private readonly history: HistoryStore,
    private readonly accounts: AccountRegistry,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('analytics')
  async analytics(
    @Param('id') id: string,
    @Query('from') from: unknown,
    @Query('to') to: unknown,
  ): Promise<WindowAnalyticsReport> {
    const accountId = historyAccountId(this.accounts, this.config, id);
    const window = parseHistoryWindow({ from, to }, this.clock.now());
    const fold = new HistoryAnalyticsFold({ window });
    for await (const event of this.history.read(accountId, window)) fold.add(event);
    return fold.result();
  }

  @Get('analytics/what-if')
  async whatIf(
    @Param('id') id: string,
    @Query('caps') caps: unknown,
    @Query('baseline') baseline: unknown,
    @Query('from') from: unknown,
    @Query('to') to: unknown,
  ): Promise<WhatIfReport> {
    const accountId = historyAccountId(this.accounts, this.config, id);
    const window = parseHistoryWindow({ from, to }, this.clock.now());
    const fold = new WhatIfHistoryFold({
      capsPercent: parseCaps(caps),
      baseline: parseBaseline(baseline),
      window,
    });
    for await (const event of this.history.read(accountId, window, WHAT_IF_TYPES)) fold.add(event);
    return fold.result();
  }
}

function parseCaps(raw: unknown): number[] {
  if (raw === undefined) return DEFAULT_CAPS;
  const parts = typeof raw === 'string' ? raw.split(',') : [];
  const caps = parts.map((part) => (/^\s*\d+(\.\d+)?\s*$/.test(part) ? Number(part) : Number.NaN));
  if (caps.length === 0 || caps.length > MAX_CAPS || !caps.every(isValidCapPercent))
    throw invalid(
      'caps',
      `a comma list of 1 to ${MAX_CAPS} percentages, each 0 < x <= 100, e.g. 10,15,20,25`,
    );
  return caps;
}

function parseBaseline(raw: unknown): 'start' | 'peak' {
  if (raw === undefined) return 'start';
  if (raw === 'start' || raw === 'peak') return raw;
  throw invalid('baseline', '`start` or `peak`');
}
