/** One line of the audit log: what happened (`action`), when, and its details. */
export interface AuditEntry {
  at: number;
  action: string;
  [detail: string]: unknown;
}

/** The append-only record of halts, cap triggers and resumes: who, when and why. */
export interface AuditLog {
  /** Resolves once the entry is durable. */
  append(entry: AuditEntry): Promise<void>;
}
