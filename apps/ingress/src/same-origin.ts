import type { FastifyRequest } from 'fastify';

/**
 * Whether a browser says this request was made by a page of another site: the defence against
 * cross-site request forgery for what a browser would send with credentials or from a form.
 * Browsers name the page's origin in `Sec-Fetch-Site`, `Origin` (or at least `Referer`) on a
 * POST; `Origin: null` is a sandboxed or privacy-stripped page and counts as another site. A
 * client that names none is not a browser and is let through: it could send anything anyway.
 * Ours is PUBLIC_URL's host or the host the request was sent to.
 */
export function fromAnotherSite(req: FastifyRequest, publicHost: string): boolean {
  const fetchSite = req.headers['sec-fetch-site'];
  if (typeof fetchSite === 'string' && fetchSite !== 'same-origin' && fetchSite !== 'none') return true;
  const origin = req.headers.origin ?? req.headers.referer;
  if (origin === undefined) return false;
  try {
    const from = new URL(origin);
    // The Host header read with the origin's scheme, so that a default port (:80, :443) compares equal.
    const sentTo = req.headers.host ? new URL(`${from.protocol}//${req.headers.host}`).host : undefined;
    return from.host !== publicHost && from.host !== sentTo;
  } catch {
    return true;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A request that changes something (not GET, HEAD or OPTIONS). */
export function changesState(req: FastifyRequest): boolean {
  return !SAFE_METHODS.has(req.method);
}
