import type { AuditEntry, AuditLog } from '@app/core';
import { join } from 'node:path';
import { AppendOnlyJournal } from './append-only-journal';

/** The append-only audit log under STATE_DIR: halts, cap triggers, resumes, who and why. */
export class FileAuditLog implements AuditLog {
  private readonly journal: AppendOnlyJournal<AuditEntry>;

  constructor(stateDir: string) {
    this.journal = new AppendOnlyJournal<AuditEntry>(join(stateDir, 'audit.jsonl'));
  }

  async open(): Promise<{ entries: number; problems: string[] }> {
    const replay = await this.journal.open();
    const problems: string[] = [];
    if (replay.corruptLines.length > 0)
      problems.push(`${this.journal.path}: damaged lines ${replay.corruptLines.slice(0, 10).join(', ')}`);
    return { entries: replay.records.length, problems };
  }

  append(entry: AuditEntry): Promise<void> {
    return this.journal.append(entry);
  }

  close(): Promise<void> {
    return this.journal.close();
  }
}
