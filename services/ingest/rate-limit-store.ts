import { createHash } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';

/** The part of a pino/fastify logger the store uses. */
export interface RateLimitLog {
  warn(obj: object, msg: string): void;
}

export interface BucketPolicy {
  /** Requests a client may make at once (the bucket's size), and per window on average. */
  limit: number;
  windowMs: number;
}

export interface Decision {
  allowed: boolean;
  limit: number;
  /** Requests left that would pass right now. */
  remaining: number;
  /** Until the bucket is full again. */
  resetMs: number;
  /** Until the next request would pass (0 when allowed). */
  retryAfterMs: number;
}

export interface KvTokenBucketOptions {
  log?: RateLimitLog;
  /** Deadline for one round trip, retries included; past it the request is let through. */
  timeoutMs?: number;
  /** After NATS failed, let requests through without asking it for this long. */
  cooldownMs?: number;
  /** Compare-and-set attempts before giving up on a contended key. */
  maxAttempts?: number;
  now?: () => number;
}

interface Waiter {
  resolve(d: Decision): void;
}

interface KeyState {
  queue: Waiter[];
  busy: boolean;
  /** The last state this replica wrote or read: lets the next round skip a get(). */
  last?: { tat: number; revision: number };
  touched: number;
}

class ContentionError extends Error {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** KV keys allow only [-/_=.a-zA-Z0-9]: hash whatever identifies the client (IPv6, tenant). */
export function bucketKey(clientKey: string, prefix = ''): string {
  return createHash('sha256').update(prefix).update('\0').update(clientKey).digest('base64url');
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
 * One step of the generic cell rate algorithm (a token bucket kept as one number): `tat` is the
 * time at which the bucket would be full again. Each request moves it on by window/limit; a
 * request passes while tat stays within one window of now. So a client gets `limit` at once and
 * then one every window/limit: no second full burst at a window edge, as fixed windows allow.
 */
export function gcra(tat: number, now: number, p: BucketPolicy): { tat: number; decision: Decision } {
  const interval = p.windowMs / p.limit;
  const next = Math.max(tat, now) + interval;
  if (next - now > p.windowMs + 1e-6) {
    const retryAfterMs = Math.ceil(next - p.windowMs - now);
    return { tat, decision: { allowed: false, limit: p.limit, remaining: 0, resetMs: Math.ceil(Math.max(tat, now) - now), retryAfterMs } };
  }
  const remaining = Math.floor((p.windowMs - (next - now)) / interval + 1e-9);
  return { tat: next, decision: { allowed: true, limit: p.limit, remaining, resetMs: Math.ceil(next - now), retryAfterMs: 0 } };
}

/**
 * Token buckets in a NATS KV bucket, so every ingest replica draws from the same one. A client's
 * bucket is one key (a hash of the client's identity) holding its `tat`.
 *
 * Concurrency: updates are compare-and-set. Inside one replica every request waiting on one key is
 * decided in a single CAS per round trip, so a burst costs a few round trips instead of a storm
 * of conflicts; conflicts left come from other replicas and are retried with jittered backoff.
 * tat only grows, so once this replica has seen a client over its limit it refuses locally until
 * the refusal could have lapsed: a flood of refused requests does not reach NATS.
 */
export class KvTokenBucket {
  private readonly states = new Map<string, KeyState>();
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;
  private readonly maxAttempts: number;
  private readonly now: () => number;
  private openUntil = 0;
  private sweeper: NodeJS.Timeout;

  constructor(
    private readonly kv: KV,
    private readonly policy: BucketPolicy,
    private readonly opts: KvTokenBucketOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 500;
    this.cooldownMs = opts.cooldownMs ?? 2_000;
    this.maxAttempts = opts.maxAttempts ?? 8;
    this.now = opts.now ?? Date.now;
    // Forget clients idle for two windows: their buckets are full again and the KV entry expires.
    this.sweeper = setInterval(
      () => {
        const before = this.now() - 2 * policy.windowMs;
        for (const [k, st] of this.states) if (!st.busy && st.queue.length === 0 && st.touched < before) this.states.delete(k);
      },
      Math.max(1000, policy.windowMs),
    ).unref();
  }

  close() {
    clearInterval(this.sweeper);
  }

  take(clientKey: string): Promise<Decision> {
    const kvKey = bucketKey(clientKey);
    let st = this.states.get(kvKey);
    if (!st) this.states.set(kvKey, (st = { queue: [], busy: false, touched: this.now() }));
    st.touched = this.now();
    if (st.last) {
      const local = gcra(st.last.tat, this.now(), this.policy);
      if (!local.decision.allowed) return Promise.resolve(local.decision);
    }
    // Fail open: when NATS is down the limiter lets traffic through (and says so in the log)
    // rather than turning a shared-state outage into a full service outage.
    if (this.now() < this.openUntil) return Promise.resolve(this.unlimited());
    return new Promise((resolve) => {
      st.queue.push({ resolve });
      void this.drain(kvKey, st);
    });
  }

  private unlimited(): Decision {
    return { allowed: true, limit: this.policy.limit, remaining: this.policy.limit, resetMs: 0, retryAfterMs: 0 };
  }

  /** One round at a time per key; whoever queued meanwhile goes in the next round, together. */
  private async drain(kvKey: string, st: KeyState): Promise<void> {
    if (st.busy) return;
    st.busy = true;
    try {
      while (st.queue.length > 0) {
        const batch = st.queue.splice(0);
        try {
          const decisions = await withDeadline(this.decide(kvKey, st, batch.length), this.timeoutMs);
          batch.forEach((w, i) => w.resolve(decisions[i]));
        } catch (err) {
          st.last = undefined;
          for (const w of [...batch, ...st.queue.splice(0)]) w.resolve(this.unlimited());
          this.failOpen(err);
        }
      }
    } finally {
      st.busy = false;
    }
  }

  /** Decides n requests in order against the shared state and writes the new state by CAS. */
  private async decide(kvKey: string, st: KeyState, n: number): Promise<Decision[]> {
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      try {
        if (!st.last) {
          const e = await this.kv.get(kvKey);
          st.last = e && e.operation === 'PUT' ? { tat: Number(e.string()) || 0, revision: e.revision } : { tat: 0, revision: 0 };
        }
        const now = this.now();
        let tat = st.last.tat;
        const decisions: Decision[] = [];
        for (let i = 0; i < n; i++) {
          const step = gcra(tat, now, this.policy);
          tat = step.tat;
          decisions.push(step.decision);
        }
        if (tat === st.last.tat) return decisions; // all refused: nothing to write
        const value = String(Math.ceil(tat));
        const revision = st.last.revision === 0 ? await this.kv.create(kvKey, value) : await this.kv.update(kvKey, value, st.last.revision);
        st.last = { tat: Math.ceil(tat), revision };
        return decisions;
      } catch (err) {
        // create() on a key that exists fails with "wrong last sequence" too.
        if (!isConflict(err)) throw err;
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
    const now = this.now();
    if (now < this.openUntil) return;
    this.openUntil = now + this.cooldownMs;
    this.opts.log?.warn({ err, cooldownMs: this.cooldownMs }, 'rate limit: NATS KV unavailable, failing open (requests allowed without limit)');
  }
}
