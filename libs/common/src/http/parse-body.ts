import { BadRequestException } from '@nestjs/common';
import type { z } from 'zod';

/** Validate a JSON body with a zod schema, or answer 400 naming every offending field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const errors = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: key, message: 'unknown field' }))
      : [{ field: issue.path.length > 0 ? issue.path.join('.') : 'body', message: issue.message }],
  );
  throw new BadRequestException({ status: 'refused', reason: 'invalid_body', errors });
}
