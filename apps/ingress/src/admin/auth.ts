import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { changesState, fromAnotherSite } from '../same-origin.ts';

/** The realm a browser shows in its login prompt. */
export const REALM = 'tickercast';

/**
 * Constant-time, and length-blind: both sides are hashed first, so neither the content nor the
 * length of the token leaks through timing.
 */
function sameSecret(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/** `Bearer <token>`, or HTTP Basic with the token as password (any user name): the reason it fails, or undefined when it holds. */
export function checkAdminCredentials(authorization: string | undefined, token: string): string | undefined {
  if (!authorization) return 'missing credentials';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (bearer) return sameSecret(bearer[1]!, token) ? undefined : 'wrong credentials';
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'malformed Basic credentials';
    return sameSecret(decoded.slice(colon + 1), token) ? undefined : 'wrong credentials';
  }
  return 'Authorization is neither Bearer nor Basic';
}

/**
 * An onRequest hook that lets through only the admin token. `challenge` picks what a 401
 * invites: `Basic` makes a browser show its login prompt (Bull Board), `Bearer` suits an API.
 * A browser keeps Basic credentials and sends them with any request to us, even one a page
 * elsewhere makes (a form posting to Bull Board's add-job route): a request that changes
 * something and that the browser says comes from another site is refused (403), whatever its
 * credentials. `publicUrl` is PUBLIC_URL: requests from pages there are ours.
 */
export function requireAdmin(token: string, challenge: 'Basic' | 'Bearer', publicUrl: string): onRequestAsyncHookHandler {
  const publicHost = new URL(publicUrl).host;
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (changesState(req) && fromAnotherSite(req, publicHost)) {
      req.log.warn({ url: req.url.split('?')[0], origin: req.headers.origin ?? req.headers.referer }, 'admin request from another site refused');
      return reply.code(403).header('cache-control', 'no-store').send({ error: 'forbidden', reason: 'a request from another site' });
    }
    const reason = checkAdminCredentials(req.headers.authorization, token);
    if (reason === undefined) return;
    req.log.warn({ url: req.url.split('?')[0], reason }, 'admin access refused');
    return reply
      .code(401)
      .header('www-authenticate', `${challenge} realm="${REALM}"${challenge === 'Basic' ? ', charset="UTF-8"' : ''}`)
      .header('cache-control', 'no-store')
      .send({ error: 'unauthorized', reason });
  };
}
