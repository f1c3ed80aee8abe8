import { createHash } from 'node:crypto';
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { KV } from '@nats-io/kv';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FolioError, isFolioError } from '../../shared/errors.ts';
import { KvRateLimitStore, type RateLimitLog } from './rate-limit-store.ts';

export interface RateLimitOptions {
  kv: KV;
  /** Requests per window and client; 0 turns the limiter off. */
  max: number;
  windowS: number;
  keyOf?: (req: FastifyRequest) => string;
  log?: RateLimitLog & { info?(obj: object, msg: string): void };
  /** See KvRateLimitStoreOptions; the defaults suit production. */
  timeoutMs?: number;
  cooldownMs?: number;
}

/** Probes, metrics and docs must answer even to a client that spent its budget. */
const EXEMPT_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

function isExempt(req: FastifyRequest): boolean {
  // The matched route pattern, not the raw URL: a crafted path cannot borrow an exemption.
  const route = req.routeOptions.url;
  if (!route) return false;
  return EXEMPT_ROUTES.has(route) || route === '/docs' || route.startsWith('/docs/');
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.trim() || undefined;
}

/**
 * The budget belongs to the API key when one is sent, else to the client address (an IPv6
 * client is one /64, as it usually owns the whole prefix). The key is hashed here so a raw
 * API key never reaches the store, the plugin's callbacks or a log line.
 */
export function rateLimitKey(req: FastifyRequest): string {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(firstHeader(req.headers.authorization) ?? '')?.[1];
  const apiKey = bearer ?? firstHeader(req.headers['x-api-key']);
  if (apiKey) return `key:${createHash('sha256').update(apiKey).digest('base64url')}`;
  return `ip:${normalizeIP(req.ip)}`;
}

/**
 * A limit shared by every ingest replica: @fastify/rate-limit counting in the NATS KV bucket.
 * Awaits the plugin's registration, so call it before adding routes' own hooks that rely on it.
 */
export async function registerRateLimit(app: FastifyInstance, opts: RateLimitOptions): Promise<void> {
  const log = opts.log ?? app.log;
  if (opts.max <= 0) {
    log.info?.({}, 'rate limit disabled (max = 0)');
    return;
  }
  const windowMs = opts.windowS * 1000;
  warnIfBucketTtlShort(opts.kv, windowMs, log);

  const storeOpts = { log, timeoutMs: opts.timeoutMs, cooldownMs: opts.cooldownMs };
  const kv = opts.kv;
  await app.register(fastifyRateLimit, {
    // Not global: the plugin's own hook would hand the 429 to whatever error handler the app
    // has; our hook below answers it itself, so the body is the same everywhere.
    global: false,
    max: opts.max,
    timeWindow: windowMs,
    keyGenerator: opts.keyOf ?? rateLimitKey,
    store: class extends KvRateLimitStore {
      constructor() {
        super(kv, storeOpts);
      }
    },
    // The store already fails open; this also covers an error the store did not foresee.
    skipOnError: true,
    errorResponseBuilder: (_req, ctx) => new FolioError('FOLIO_RATE_LIMITED', `Rate limit exceeded, retry in ${ctx.after}`),
  });

  const limit = app.rateLimit();
  app.addHook('onRequest', async function (req, reply) {
    // Routes with their own `config.rateLimit` (an object, or false) are the plugin's business.
    if (isExempt(req) || req.routeOptions.config?.rateLimit !== undefined) return;
    try {
      await limit.call(this, req, reply);
    } catch (err) {
      if (!isFolioError(err) || err.code !== 'FOLIO_RATE_LIMITED') throw err;
      // The plugin has set Retry-After and the x-ratelimit-* headers on the reply already.
      return reply.status(err.status).send({ error: err.toJSON() });
    }
  });
}

/** A bucket TTL shorter than the window would reset counters mid-window: say so at start-up. */
function warnIfBucketTtlShort(kv: KV, windowMs: number, log: RateLimitLog) {
  kv.status()
    .then((s) => {
      if (s.ttl > 0 && s.ttl < windowMs) log.warn({ bucketTtlMs: s.ttl, windowMs }, 'rate limit bucket TTL is shorter than the window');
    })
    .catch(() => {}); // NATS down at start-up: the store logs that on first use
}
