import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { changesState, fromAnotherSite } from '../same-origin.ts';

/** The realm a browser shows in its login prompt. */
export const REALM = 'tickercast';

/** The cookie a browser keeps after opening a `?token=` address: the admin token's session, never the token itself. */
export const ADMIN_COOKIE = 'tickercast_admin';

/**
 * Constant-time, and length-blind: both sides are hashed first, so neither the content nor the
 * length of the token leaks through timing.
 */
function sameSecret(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/** What the session cookie holds: derived from the token, so the cookie jar never holds the token. */
export function adminSession(token: string): string {
  return createHmac('sha256', token).update('tickercast admin session').digest('base64url');
}

/**
 * `Bearer <token>`, HTTP Basic with the token as password (any user name), or the session
 * cookie: the reason they fail, or undefined when they hold.
 */
export function checkAdminCredentials(authorization: string | undefined, token: string, cookie?: string): string | undefined {
  if (!authorization) {
    if (cookie !== undefined) return sameSecret(cookie, adminSession(token)) ? undefined : 'wrong credentials';
    return 'missing credentials';
  }
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
    const reason = checkAdminCredentials(req.headers.authorization, token, req.cookies?.[ADMIN_COOKIE]);
    if (reason === undefined) return;
    req.log.warn({ url: req.url.split('?')[0], reason }, 'admin access refused');
    return reply
      .code(401)
      .header('www-authenticate', `${challenge} realm="${REALM}"${challenge === 'Basic' ? ', charset="UTF-8"' : ''}`)
      .header('cache-control', 'no-store')
      .send({ error: 'unauthorized', reason });
  };
}

/** The pages a person opens with `?token=`: the dashboard, Bull Board, the admin API and /metrics. */
const OPERATOR_PATHS = /^\/(?:$|dashboard(?:\/|$)|admin\/|metrics$)/;

/**
 * Opening an operator page as `…?token=<ADMIN_TOKEN>` (the address `npm start` prints, the way
 * Jupyter prints its own) logs the browser in: the token is checked, a session cookie is set
 * (HttpOnly, SameSite=Strict: never sent with a request another site starts) and the browser is
 * sent to the same address without the token, so it stays out of history and logs. A wrong
 * token changes nothing: the page then asks for credentials as usual.
 */
const plugin: FastifyPluginAsync<{ token: string }> = async (app, { token }) => {
  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'GET') return;
    const url = new URL(req.url, 'http://x');
    const given = url.searchParams.get('token');
    if (given === null || !OPERATOR_PATHS.test(url.pathname)) return;
    if (!sameSecret(given, token)) return;
    url.searchParams.delete('token');
    reply.setCookie(ADMIN_COOKIE, adminSession(token), { httpOnly: true, sameSite: 'strict', path: '/', secure: req.protocol === 'https' });
    return reply.header('cache-control', 'no-store').redirect(`${url.pathname}${url.search}`, 303);
  });
};

export const adminLogin = fp(plugin, { name: 'admin-login', fastify: '5.x', dependencies: ['@fastify/cookie'] });
