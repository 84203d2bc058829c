import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLoopback } from '@tickercast/shared';

/*
 * Who may drive the phones and the settings (/_sim). Driving a phone makes the simulator post an
 * inbound webhook signed with the account's real secret, so /_sim answers only processes on this
 * machine, or anyone holding the control token.
 */

export const CONTROL_REALM = 'tickercast-simulator';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The Host a browser sends names the site it thinks it is on: a DNS-rebinding page names its own, not localhost. */
function hostIsLoopback(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return isLoopback(name);
}

/** Why a request may not use /_sim, or undefined when it may. */
export function controlRefusal(req: Pick<FastifyRequest, 'ip' | 'headers'>, token: string | undefined): string | undefined {
  const auth = req.headers.authorization;
  if (token && auth !== undefined) {
    const given = /^Bearer (.+)$/i.exec(auth)?.[1]?.trim() ?? '';
    // Hashing first gives equal lengths, so the comparison takes the same time whatever was sent.
    return timingSafeEqual(digest(given), digest(token)) ? undefined : 'wrong simulator token';
  }
  // req.ip is the socket's address: the simulator trusts no X-Forwarded-For.
  if (isLoopback(req.ip) && hostIsLoopback(req.headers.host)) return undefined;
  return token
    ? `the simulator's control API (/_sim) answers other hosts only with its token: Authorization: Bearer <SIMULATOR_TOKEN>`
    : `the simulator's control API (/_sim) answers this machine only (no SIMULATOR_TOKEN is set)`;
}

/** An onRequest hook for the /_sim routes. */
export function guardControl(token: string | undefined) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const reason = controlRefusal(req, token);
    if (!reason) return;
    return reply.code(401).header('www-authenticate', `Bearer realm="${CONTROL_REALM}"`).send({ error: 'unauthorized', reason });
  };
}
