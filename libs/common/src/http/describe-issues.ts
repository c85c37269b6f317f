import type { z } from 'zod';

/** A body quoted into an error message: JSON-escaped and cut to 200 characters. */
export function snippet(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
}

/** One line naming every offending field, for logs and BrokerError messages. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
