import net from 'node:net';
import type { KV } from '@nats-io/kv';
import type { FastifyReply } from 'fastify';
import { KvTokenBucket, type Decision, type RateLimitLog } from './rate-limit-store.ts';

export type { Decision } from './rate-limit-store.ts';

export interface RateLimiterOptions {
  kv: KV;
  /** Requests per window and client; 0 turns the limiter off. */
  max: number;
  windowS: number;
  log?: RateLimitLog;
  /** See KvTokenBucketOptions; the defaults suit production. */
  timeoutMs?: number;
  cooldownMs?: number;
}

export interface RateLimiter {
  readonly windowS: number;
  /** null when the limiter is off. */
  take(clientKey: string): Promise<Decision | null>;
  close(): void;
}

/**
 * A token bucket per client shared by every ingest replica through NATS KV. Who the client is
 * is the caller's business (see edge.ts): the tenant once authenticated, else the address.
 */
export function createRateLimiter(o: RateLimiterOptions): RateLimiter {
  if (o.max <= 0) return { windowS: o.windowS, take: async () => null, close() {} };
  const bucket = new KvTokenBucket(o.kv, { limit: o.max, windowMs: o.windowS * 1000 }, { log: o.log, timeoutMs: o.timeoutMs, cooldownMs: o.cooldownMs });
  return { windowS: o.windowS, take: (k) => bucket.take(k), close: () => bucket.close() };
}

/**
 * The client address as a budget: an IPv4 address, or an IPv6 client's /64 (it usually owns the
 * whole prefix, so one budget per address would be one per guess).
 */
export function clientAddress(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  if (!net.isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}

/**
 * RateLimit-Limit / -Remaining / -Reset (seconds) and RateLimit-Policy as the IETF draft spells
 * them, on every limited answer; Retry-After on a refusal.
 */
export function setRateLimitHeaders(
  reply: FastifyReply,
  d: { limit: number; remaining: number; resetMs: number; retryAfterMs: number; allowed: boolean },
  windowS: number,
) {
  reply.header('ratelimit-limit', String(d.limit));
  reply.header('ratelimit-remaining', String(Math.max(0, d.remaining)));
  reply.header('ratelimit-reset', String(Math.ceil(d.resetMs / 1000)));
  reply.header('ratelimit-policy', `${d.limit};w=${windowS}`);
  if (!d.allowed) reply.header('retry-after', String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))));
}
