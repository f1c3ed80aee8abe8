/**
 * The concurrency window of one vLLM backend: how many pages we keep in flight there.
 *
 * AIMD, as TCP does it, because the right number is unknown and moves (page density, other
 * clients, KV-cache pressure): grow by about one page per window's worth of good completions while
 * vLLM queues nothing and per-token latency holds; halve on overload (503, timeouts, vLLM's waiting
 * queue > 0). Pages should wait in JetStream, not in vLLM's queue, so "waiting > 0" is the main
 * signal. Pure: time comes in as an argument, so tests drive it with signals alone.
 */

export interface WindowOptions {
  min: number;
  max: number;
  /** Starting size (default min); slow start doubles it quickly until the first overload. */
  initial?: number;
  /** Additive growth per full window of successes (default 1). */
  increase?: number;
  /** Multiplicative factor on overload (default 0.5). */
  decrease?: number;
  /**
   * Latency "holds" while the recent per-token latency stays within this factor of the best seen.
   * Generous by default (3): continuous batching makes each request slower as the batch grows
   * while total throughput still rises, so a tight bound would stop growth far too early.
   */
  latencyTolerance?: number;
  /** KV-cache usage (0–1) at or above which the window stops growing (default 0.9). */
  kvCacheHigh?: number;
  /** At most one decrease per this many ms: one burst of timeouts is one congestion event (default 2000). */
  decreaseIntervalMs?: number;
}

export interface SuccessSignal {
  latencyMs: number;
  /** Completion tokens; latency is compared per token because page lengths vary 10×. */
  tokens?: number;
  /** Requests in flight on this backend when this one started (itself included): was the window full? */
  inFlight?: number;
}

export interface MetricsSignal {
  running: number;
  waiting: number;
  /** 0–1, when the server reports it. */
  kvCacheUsage?: number;
}

export type OverloadReason = 'unavailable' | 'timeout' | 'waiting';

export class AimdWindow {
  readonly min: number;
  readonly max: number;
  #w: number;
  #slowStart = true;
  #increase: number;
  #decrease: number;
  #tolerance: number;
  #kvHigh: number;
  #decreaseInterval: number;
  #lastDecrease = -Infinity;
  #waiting = 0;
  #kv = 0;
  #bestPerToken = Infinity;
  #recentPerToken: number | null = null;
  #lastOverload: OverloadReason | null = null;

  constructor(o: WindowOptions) {
    this.min = Math.max(1, Math.floor(o.min));
    this.max = Math.max(this.min, Math.floor(o.max));
    this.#w = clamp(o.initial ?? this.min, this.min, this.max);
    this.#increase = o.increase ?? 1;
    this.#decrease = o.decrease ?? 0.5;
    this.#tolerance = o.latencyTolerance ?? 3;
    this.#kvHigh = o.kvCacheHigh ?? 0.9;
    this.#decreaseInterval = o.decreaseIntervalMs ?? 2000;
  }

  /** Whole pages allowed in flight. */
  get size(): number {
    return Math.floor(this.#w);
  }

  /** The fractional window, for metrics and tests. */
  get value(): number {
    return this.#w;
  }

  get slowStart(): boolean {
    return this.#slowStart;
  }

  /** What shrank the window last (for logs and the metrics endpoint). */
  get lastOverload(): OverloadReason | null {
    return this.#lastOverload;
  }

  onSuccess(s: SuccessSignal): void {
    const perToken = s.latencyMs / Math.max(1, s.tokens ?? 1);
    this.#bestPerToken = Math.min(this.#bestPerToken, perToken);
    this.#recentPerToken = this.#recentPerToken === null ? perToken : 0.8 * this.#recentPerToken + 0.2 * perToken;
    if (!this.#mayGrow(s.inFlight)) return;
    // Slow start: +1 per success doubles the window each round trip; afterwards +increase per round trip.
    this.#w = Math.min(this.max, this.#w + (this.#slowStart ? 1 : this.#increase / this.#w));
  }

  onOverload(reason: OverloadReason, now: number): void {
    this.#slowStart = false;
    this.#lastOverload = reason;
    if (now - this.#lastDecrease < this.#decreaseInterval) return;
    this.#lastDecrease = now;
    this.#w = Math.max(this.min, this.#w * this.#decrease);
  }

  onMetrics(m: MetricsSignal, now: number): void {
    this.#waiting = m.waiting;
    if (m.kvCacheUsage !== undefined) this.#kv = m.kvCacheUsage;
    if (m.waiting > 0) this.#onQueued(m.waiting, now);
  }

  /**
   * vLLM queued `waiting` requests: that is how far past its batch capacity the backend is, so
   * shrink by exactly that (halving at most) instead of blindly halving, and stay near capacity.
   */
  #onQueued(waiting: number, now: number): void {
    this.#slowStart = false;
    this.#lastOverload = 'waiting';
    if (now - this.#lastDecrease < this.#decreaseInterval) return;
    this.#lastDecrease = now;
    this.#w = Math.max(this.min, this.#w * this.#decrease, this.#w - waiting);
  }

  #mayGrow(inFlight: number | undefined): boolean {
    if (this.#w >= this.max) return false;
    if (this.#waiting > 0 || this.#kv >= this.#kvHigh) return false;
    // Growing an idle window only stores up a burst: grow only when the window was in use. Pages
    // start staggered, so "full" would let just the last starter of each round count and turn
    // slow start linear; half full is Linux TCP's cwnd-limited test, for the same reason.
    if (inFlight !== undefined && inFlight * 2 < this.size) return false;
    if (this.#recentPerToken !== null && this.#recentPerToken > this.#bestPerToken * this.#tolerance) {
      this.#slowStart = false;
      return false;
    }
    return true;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
