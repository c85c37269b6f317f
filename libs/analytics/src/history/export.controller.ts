import { Controller, Get, Inject, Logger, Param, Query, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AccountRegistry, HISTORY_STORE, type Clock, type HistoryStore } from '@app/core';
import { AdminTokenGuard } from '@app/common';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { historyAccountId } from './history-account';
import { EXPORT_TYPES, exportLines, exportRows, type ExportFormat } from './export-rows';
import { invalid, parseHistoryWindow } from './history-window';

const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
};

/**
 * An account's history as a file for backtests (docs/history.md, Export): streamed from the store
 * a page at a time, with the response's back-pressure, never built whole in memory.
 */
@Controller('api/v1/accounts/:id')
@UseGuards(AdminTokenGuard)
export class HistoryExportController {
  private readonly logger = new Logger('history-export');

  constructor(
    @Inject(HISTORY_STORE) private readonly history: HistoryStore,
    private readonly accounts: AccountRegistry,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('export')
  async export(
    @Param('id') id: string,
    @Query('kind') rawKind: unknown,
    @Query('format') rawFormat: unknown,
    @Query('from') from: unknown,
    @Query('to') to: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const accountId = historyAccountId(this.accounts, this.config, id);
    const kind = oneOf('kind', rawKind, ['trades', 'equity', 'events'] as const);
    const format = oneOf('format', rawFormat ?? 'csv', ['csv', 'jsonl'] as const);
    const window = parseHistoryWindow({ from, to }, this.clock.now());
    const name = `${accountId}-${kind}-${new Date(window.from).toISOString().replace(/[:.]/g, '')}.${format}`;
    res.status(200);
    res.setHeader('Content-Type', CONTENT_TYPES[format]);
    res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
    res.setHeader('Cache-Control', 'no-store');
    const events = this.history.read(accountId, window, EXPORT_TYPES[kind]);
    try {
      await pipeline(Readable.from(exportLines(kind, format, exportRows(kind, events))), res);
    } catch (error) {
      // Headers are gone: the client sees a cut response (no final chunk), never a wrong whole one.
      this.logger.warn({ err: error, account_id: accountId, kind }, 'history export ended early');
    }
  }
}

function oneOf<T extends string>(field: string, raw: unknown, allowed: readonly T[]): T {
  if (typeof raw === 'string' && (allowed as readonly string[]).includes(raw)) return raw as T;
  throw invalid(field, `one of ${allowed.join(', ')}`);
}
