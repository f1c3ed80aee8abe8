/**
 * The concurrency window of one vLLM backend: how many pages we keep in flight there.
 *
 * AIMD, as TCP does it, because the right number is unknown and moves (page density, other
 * clients, KV-cache pressure): grow by about one page per window's worth of good completions while
 * vLLM queues nothing and per-token latency holds; halve on overload (503, timeouts, vLLM's waiting
 * queue > 0). Pages should wait in JetStream, not in vLLM's queue, so "waiting > 0" is the main
 * signal. Pure: time comes in as an argument, so tests drive it with signals alone.
 *
 * When vLLM's /metrics is fresh and the scrape says how many of the requests are ours, the window
 * is driven by vLLM's own gauges instead (fill to the batch limit). Latency per token is a poor
 * "full" signal for vLLM: its decode step grows with the batch by design while total throughput
 * still rises, so a latency brake stopped at 66–83 of 100 sequences in the benchmark. What vLLM
 * does say exactly is its batch limit: while requests wait (two scrapes in a row, so one burst of
 * arrivals between steps is not taken for it), `running` is that limit (max_num_seqs, or fewer when
 * the KV cache binds). The window then holds our share of it plus `queueTarget` pages queued
 * there, so the next page is already at vLLM when one finishes: limit + queueTarget − what other
 * clients run or queue. Until the limit is known the window doubles per scrape that shows room,
 * and then settles on the limit in one step instead of halving (halving and regrowing one page per
 * window is what kept an earlier "fill while vLLM says room" attempt at half the capacity of two
 * unequal backends).
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
  /** Pages we keep queued at vLLM beyond its batch limit, so a finished sequence is replaced at once (default 1). */
  queueTarget?: number;
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
  /** Our requests in flight on this backend when the answer came: enables the metrics-driven window. */
  inFlight?: number;
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
  #queueTarget: number;
  /** vLLM's batch limit as learned from its gauges (null until requests were seen waiting). */
  #limit: number | null = null;
  /** The previous scrape showed requests waiting. */
  #queuedBefore = false;
  /**
   * Completions the last metrics-driven scrape still covers (0: the metrics are stale or missing,
   * and the latency-braked AIMD rules). Counted in completions, not time, to keep the window pure.
   */
  #freshFor = 0;
  /** No metrics-driven growth before this time (after a 503 or timeout). */
  #holdUntil = -Infinity;

  constructor(o: WindowOptions) {
    this.min = Math.max(1, Math.floor(o.min));
    this.max = Math.max(this.min, Math.floor(o.max));
    this.#w = clamp(o.initial ?? this.min, this.min, this.max);
    this.#increase = o.increase ?? 1;
    this.#decrease = o.decrease ?? 0.5;
    this.#tolerance = o.latencyTolerance ?? 3;
    this.#kvHigh = o.kvCacheHigh ?? 0.9;
    this.#decreaseInterval = o.decreaseIntervalMs ?? 2000;
    this.#queueTarget = Math.max(0, o.queueTarget ?? 1);
  }

  /** vLLM's batch limit as learned from its gauges, null until known (for metrics and tests). */
  get batchLimit(): number | null {
    return this.#limit;
  }

  /** Whether fresh /metrics drive the window (else the latency-braked AIMD does). */
  get metricsDriven(): boolean {
    return this.#freshFor > 0;
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
    if (this.#freshFor > 0) {
      this.#freshFor--;
      // Once the limit is known the scrapes size the window; per-success growth would only probe
      // past it and queue pages at vLLM.
      if (this.#limit !== null) return;
    }
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
    // The gauges would refill the window at the next scrape: give the backend time to recover.
    this.#holdUntil = now + 5 * this.#decreaseInterval;
  }

  onMetrics(m: MetricsSignal, now: number): void {
    this.#waiting = m.waiting;
    if (m.kvCacheUsage !== undefined) this.#kv = m.kvCacheUsage;
    if (m.inFlight !== undefined) return this.#fromGauges(m, m.inFlight, now);
    if (m.waiting > 0) this.#onQueued(m.waiting, now);
  }

  /** The metrics-driven window: see the header. */
  #fromGauges(m: MetricsSignal, ours: number, now: number): void {
    this.#freshFor = Math.max(8, 2 * this.size);
    const queued = m.waiting > 0;
    if (queued) {
      this.#slowStart = false;
      this.#lastOverload = 'waiting';
      // Waiting twice in a row: the batch is at its limit, and running says what the limit is.
      if (this.#queuedBefore) this.#limit = Math.max(1, m.running);
    } else if (this.#limit !== null) {
      // A backend that runs more than we thought its limit (a restart with more sequences, KV freed).
      this.#limit = Math.max(this.#limit, m.running);
    }
    const firstQueued = queued && !this.#queuedBefore;
    this.#queuedBefore = queued;
    if (firstQueued) return; // hold until the next scrape tells a burst from a full batch
    if (this.#limit !== null) {
      // Other clients' requests, running or queued; in-transit ones make this an underestimate.
      const others = Math.max(0, m.running + m.waiting - ours);
      const target = clamp(this.#limit + this.#queueTarget - others, this.min, this.max);
      // Shrink whenever vLLM queues; grow only while it has room and nothing just overloaded it.
      if (queued || (target > this.#w && now >= this.#holdUntil && this.#kv < this.#kvHigh)) this.#w = target;
      return;
    }
    // Limit unknown: double while vLLM has room and the window is in use (per scrape, not per round
    // trip: a page at a full batch takes seconds). "In use" as vLLM counts it, not as we do, so a
    // scrape taken before the last doubling's pages arrived does not double again.
    const seen = Math.min(ours, m.running + m.waiting);
    if (now >= this.#holdUntil && this.#kv < this.#kvHigh && seen * 2 >= this.size) this.#w = Math.min(this.max, Math.max(this.#w + 1, this.#w * 2));
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
    // Fresh gauges say there is room: the latency brake is for backends without them.
    if (this.#freshFor > 0) return true;
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
