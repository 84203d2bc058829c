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
  extra: { detail?: string; invalid_parameters?: { name: string; reason: string }[]; status?: number } = {},
): FastifyReply {
  const { status, ...problem } = PROBLEMS[kind];
  const { status: statusOverride, ...fields } = extra;
  return reply
    .code(statusOverride ?? status)
    .type('application/problem+json')
    .send({ ...problem, ...fields, instance: randomUUID().replace(/-/g, '') });
}

/** What the numbered Messages API errors mean (x-errors), for the `error` of a failed message's status. */
const MESSAGE_ERRORS: Record<number, string> = {
  1000: 'Throttled - You have exceeded the submission capacity allowed on this account. Please wait and retry',
  1050: 'Number barred - The number you are trying to submit to is blacklisted and may not receive messages.',
  1070: 'Partner quota exceeded - Your pre-paid account does not have sufficient credit to process this message.',
  1180: 'Absent Subscriber Temporary - The recipient was temporarily unavailable.',
  1190: 'Absent Subscriber Permanent - The recipient is no longer active.',
  1230: 'Network Error - A network failure while sending your message. This is a temporary failure, retry later.',
  1240: 'Illegal Number - The recipient has opted out (sent STOP) and no longer wishes to receive messages from you.',
  1260: 'Destination unreachable - The message could not be delivered to the recipient.',
  1300: 'Not part of the provider network - The number or ID is not a user in the provider network.',
  1360: 'TTL was activated, or message expired before delivered.',
  1340: 'Outside of the allowed window - This message is sent outside of allowed response window.',
};

export interface MessageStatusError {
  type: string;
  title: string;
  detail: string;
  instance: string;
}

/** The `error` of a status webhook for a numbered Messages API error: the code is the title, as Vonage's spec shows. */
export function messageStatusError(code: number): MessageStatusError {
  return {
    type: `https://developer.vonage.com/api-errors/messages#${code}`,
    title: String(code),
    detail: MESSAGE_ERRORS[code] ?? `Error ${code}`,
    instance: randomUUID(),
  };
}
