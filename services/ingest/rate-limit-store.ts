import { createHash } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';

/** The part of a pino/fastify logger the store uses. */
export interface RateLimitLog {
  warn(obj: object, msg: string): void;
}

export interface KvRateLimitStoreOptions {
  log?: RateLimitLog;
  /** Namespaces the counters (route-level limits must not share the global counters). */
  prefix?: string;
  /** Deadline for one counting round trip, retries included; past it the request is let through. */
  timeoutMs?: number;
  /** After NATS failed, let requests through without asking it for this long. */
  cooldownMs?: number;
  /** Compare-and-set attempts before giving up on a contended key. */
  maxAttempts?: number;
}

/** What @fastify/rate-limit expects back from `incr`. */
export interface RateLimitCount {
  current: number;
  ttl: number;
}
type IncrCallback = (err: Error | null, res?: RateLimitCount) => void;

interface Waiter {
  /** The count this request got, or null when it is let through uncounted. */
  settle(current: number | null): void;
}

interface KeyState {
  queue: Waiter[];
  busy: boolean;
  /** The last value and revision this replica wrote or read: lets the next round skip a get(). */
  last?: { value: number; revision: number };
}

/** Shared by a store and its children: one outage, one cooldown, one log line. */
interface Breaker {
  openUntil: number;
}

class ContentionError extends Error {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** KV keys allow only [-/_=.a-zA-Z0-9] and '.' separates tokens: hash whatever the client sent (IPv6, API keys). */
export function counterKey(clientKey: string, windowStart: number, prefix = ''): string {
  const token = createHash('sha256').update(prefix).update('\0').update(clientKey).digest('base64url');
  return `${token}.${windowStart}`;
}

function isConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  p.catch(() => {}); // an abandoned round may still fail later: not an unhandled rejection
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`rate limit store did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/**
 * A @fastify/rate-limit store counting fixed windows in a NATS KV bucket, so every replica
 * sees the same count. Each window is its own key (`<hash of client key>.<window start ms>`);
 * the bucket's TTL must be at least one window so old windows vanish on their own.
 *
 * Concurrency: increments are compare-and-set (create / update at a revision). Inside one
 * replica all requests waiting on one key are coalesced into a single CAS of +n per round
 * trip (each waiter still gets its own distinct count), so a burst on one key costs a few
 * round trips instead of turning into a storm of conflicts. Conflicts left come from other
 * replicas and are retried with jittered backoff.
 */
export class KvRateLimitStore {
  private readonly states = new Map<string, KeyState>();
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly kv: KV,
    private readonly opts: KvRateLimitStoreOptions = {},
    private readonly breaker: Breaker = { openUntil: 0 },
  ) {
    this.timeoutMs = opts.timeoutMs ?? 500;
    this.cooldownMs = opts.cooldownMs ?? 2_000;
    this.maxAttempts = opts.maxAttempts ?? 8;
  }

  incr(key: string, cb: IncrCallback, timeWindow: number, max: number): void {
    const windowMs = Math.max(1, Math.trunc(timeWindow));
    const now = Date.now();
    const windowStart = now - (now % windowMs);
    const ttl = windowStart + windowMs - now;
    const kvKey = counterKey(key, windowStart, this.opts.prefix);
    const st = this.stateFor(kvKey, ttl);

    // Counts only grow inside a window: once this replica has seen the limit reached, every
    // further request of the window is over it, and NATS need not hear about a flood.
    if (st.last && st.last.value >= max) return cb(null, { current: st.last.value + 1, ttl });

    // Fail open: when NATS is down the limiter lets traffic through (and says so in the log)
    // rather than turning a shared-state outage into a full service outage. The trade-off is
    // that limits are not enforced for the duration.
    if (Date.now() < this.breaker.openUntil) return cb(null, { current: 0, ttl });

    st.queue.push({ settle: (current) => cb(null, { current: current ?? 0, ttl }) });
    void this.drain(kvKey, st);
  }

  /** Typed loosely: the plugin declares route options but passes its merged settings plus `routeInfo`. */
  child(params: object): KvRateLimitStore {
    const { routeInfo: r, groupId } = params as { routeInfo?: { method?: string | string[]; url?: string }; groupId?: string };
    const scope = groupId ?? (r?.url ? `${[r.method ?? ''].flat().join(',')} ${r.url}` : 'custom');
    return new KvRateLimitStore(this.kv, { ...this.opts, prefix: `${this.opts.prefix ?? ''}|${scope}` }, this.breaker);
  }

  private stateFor(kvKey: string, ttl: number): KeyState {
    let st = this.states.get(kvKey);
    if (!st) {
      st = { queue: [], busy: false };
      this.states.set(kvKey, st);
      // The key names one window; nothing asks for it once the window is over (slack for slow rounds).
      setTimeout(() => this.states.delete(kvKey), ttl + 1_000).unref();
    }
    return st;
  }

  /** One round at a time per key; whoever queued meanwhile goes in the next round, together. */
  private async drain(kvKey: string, st: KeyState): Promise<void> {
    if (st.busy) return;
    st.busy = true;
    try {
      while (st.queue.length > 0) {
        const batch = st.queue.splice(0);
        try {
          const total = await withDeadline(this.add(kvKey, st, batch.length), this.timeoutMs);
          batch.forEach((w, i) => w.settle(total - batch.length + 1 + i));
        } catch (err) {
          st.last = undefined;
          for (const w of [...batch, ...st.queue.splice(0)]) w.settle(null);
          this.failOpen(err);
        }
      }
    } finally {
      st.busy = false;
    }
  }

  /** Adds n to the key's count by compare-and-set; returns the new count. */
  private async add(kvKey: string, st: KeyState, n: number): Promise<number> {
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      try {
        if (!st.last) {
          const e = await this.kv.get(kvKey);
          if (!e || e.operation !== 'PUT') {
            const revision = await this.kv.create(kvKey, String(n));
            st.last = { value: n, revision };
            return n;
          }
          st.last = { value: Number.parseInt(e.string(), 10) || 0, revision: e.revision };
        }
        const value = st.last.value + n;
        const revision = await this.kv.update(kvKey, String(value), st.last.revision);
        st.last = { value, revision };
        return value;
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Another replica wrote first: re-read, after a random pause so the writers spread out.
        st.last = undefined;
        await sleep(Math.random() * Math.min(50, 2 * 2 ** attempt));
      }
    }
    throw new ContentionError(`rate limit key still contended after ${this.maxAttempts} attempts`);
  }

  private failOpen(err: unknown): void {
    // Contention is not an outage: let this round through but keep asking NATS.
    if (err instanceof ContentionError) {
      this.opts.log?.warn({ err }, 'rate limit: counter contended, request allowed uncounted');
      return;
    }
    const now = Date.now();
    if (now < this.breaker.openUntil) return;
    this.breaker.openUntil = now + this.cooldownMs;
    this.opts.log?.warn(
      { err, cooldownMs: this.cooldownMs },
      'rate limit: NATS KV unavailable, failing open (requests allowed without limit)',
    );
  }
}
