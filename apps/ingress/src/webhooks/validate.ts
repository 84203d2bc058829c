import type { FastifyReply } from 'fastify';
import type { z } from 'zod';

/** Parses with zod; on failure answers 400 with every reason (under `error`) and returns undefined. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, reply: FastifyReply, error = 'invalid webhook'): z.infer<S> | undefined {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  void reply.code(400).send({
    error,
    issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
  return undefined;
}
