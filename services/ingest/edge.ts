import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyring } from '../../shared/config/index.ts';
import { FolioError } from '../../shared/operations/index.ts';
import type { Audit } from './audit.ts';
import { authenticate } from './auth.ts';
import { clientAddress, setRateLimitHeaders, type RateLimiter } from './rate-limit.ts';

declare module 'fastify' {
  interface FastifyRequest {
    tenant: string;
    /** The id of the API key used (never the key), when keys are configured. */
    keyId?: string;
  }
}

/** Routes anyone may read: the upload page and the script it imports, probes, metrics and the API docs. */
const isOpenRoute = (route: string | undefined) => route === '/' || route === '/client/sse.js' || isUnlimitedRoute(route);
/** Probes, metrics and docs answer even a client that spent its budget. */
const isUnlimitedRoute = (route: string | undefined) =>
  route === '/healthz' || route === '/readyz' || route === '/metrics' || route === '/docs' || !!route?.startsWith('/docs/');

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why an unsafe request looks cross-site, or null. Browsers send `Sec-Fetch-Site` and `Origin` on
 * a cross-site form POST; API clients (curl, SDKs) send neither and are not affected. This is
 * what stops a web page from making a visitor's browser submit jobs to an open (keyless) Folio.
 */
export function crossSiteReason(req: FastifyRequest): string | null {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return `sec-fetch-site: ${site}`;
  const origin = req.headers.origin;
  if (typeof origin !== 'string') return null;
  if (origin === 'null') return 'origin: null';
  try {
    if (new URL(origin).host !== req.host) return 'origin differs from host';
  } catch {
    return 'origin unparsable';
  }
  return null;
}

/**
 * The order that makes limits hold: authenticate first, then charge the rate limit to the tenant
 * (or, for anonymous requests and failed authentication, to the client address, so guessing keys
 * is limited like anything else), then refuse what failed. Matching is on the route pattern, not
 * the raw URL, so a crafted path cannot borrow an exemption.
 */
export function installEdge(app: FastifyInstance, o: { keys: ApiKeyring; limiter: RateLimiter; audit: Audit }) {
  app.decorateRequest('tenant', '');
  app.decorateRequest('keyId', undefined);
  app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions.url;
    const ip = clientAddress(req.ip);
    const where = { ip, method: req.method, route: route ?? 'unmatched' };

    if (isUnlimitedRoute(route)) return;
    const auth = isOpenRoute(route) ? null : authenticate(req, o.keys);
    const clientKey = auth?.ok && o.keys.size > 0 ? `tenant:${auth.tenant}` : `ip:${ip}`;
    const decision = await o.limiter.take(clientKey);
    if (decision) {
      setRateLimitHeaders(reply, decision, o.limiter.windowS);
      if (!decision.allowed) {
        o.audit.record('rate.limited', {
          ...where,
          tenant: auth?.ok ? auth.tenant : undefined,
          keyId: auth?.ok ? auth.keyId : undefined,
          reason: auth && !auth.ok ? `auth ${auth.reason}` : undefined,
        });
        throw new FolioError('FOLIO_RATE_LIMITED', `Rate limit exceeded, retry in ${Math.max(1, Math.ceil(decision.retryAfterMs / 1000))} s`);
      }
    }
    if (!auth) return;
    if (!auth.ok) {
      o.audit.record('auth.denied', { ...where, reason: auth.reason });
      throw new FolioError(
        'FOLIO_UNAUTHORIZED',
        auth.reason === 'unknown' ? 'Unknown API key' : 'Send an API key as "Authorization: Bearer <key>" or "x-api-key"',
      );
    }
    if (!SAFE_METHODS.has(req.method)) {
      const crossSite = crossSiteReason(req);
      if (crossSite) {
        o.audit.record('origin.denied', { ...where, tenant: auth.tenant, keyId: auth.keyId, reason: crossSite });
        throw new FolioError('FOLIO_FORBIDDEN_ORIGIN', 'Cross-site request refused: send it from the same origin, or without browser Origin headers');
      }
    }
    req.tenant = auth.tenant;
    req.keyId = auth.keyId;
    if (auth.keyId && !SAFE_METHODS.has(req.method)) o.audit.record('key.used', { ...where, tenant: auth.tenant, keyId: auth.keyId });
  });
}
