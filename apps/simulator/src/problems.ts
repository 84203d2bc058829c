import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';

/** RFC 7807 problems as Vonage words them (see the spec's components/schemas/Error*). */
export const PROBLEMS = {
  unauthorized: {
    status: 401,
    type: 'https://developer.vonage.com/api-errors/#unathorized',
    title: 'You did not provide correct credentials.',
    detail: "Check that you're using the correct credentials, and that your account has this feature enabled",
  },
  invalidJson: {
    status: 422,
    type: 'https://developer.vonage.com/api-errors#invalid-json',
    title: 'The request body did not contain valid JSON',
    detail: 'The request body could not be parsed as JSON.',
  },
  invalidParams: {
    status: 422,
    type: 'https://developer.vonage.com/api-errors/messages#1150',
    title: 'Invalid params',
    detail: 'The value of one or more parameters is invalid.',
  },
  throttled: {
    status: 429,
    type: 'https://developer.vonage.com/api-errors/messages#1000',
    title: 'Rate Limit Hit',
    detail: 'Please wait, then retry your request',
  },
  internal: {
    status: 500,
    type: 'https://developer.vonage.com/api-errors/messages#1000',
    title: 'Internal error',
    detail: 'There was an error processing your request in the Platform.',
  },
} as const;

export type ProblemKind = keyof typeof PROBLEMS;

export function sendProblem(
  reply: FastifyReply,
  kind: ProblemKind,
  extra: { detail?: string; invalid_parameters?: { name: string; reason: string }[] } = {},
): FastifyReply {
  const { status, ...problem } = PROBLEMS[kind];
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ ...problem, ...extra, instance: randomUUID().replace(/-/g, '') });
}
