/**
 * vllm-sim (test/benchmark tool): a continuous-batching model of vLLM's scheduler.
 *
 * At most maxNumSeqs requests run; the rest wait in an unbounded FIFO (vLLM's default). Each running
 * request first prefills for prefillMs, then emits one token per decode step. All running requests
 * share each step, and a step gets mildly slower as the batch grows, so throughput rises with
 * concurrency up to maxNumSeqs, which is the property the flow controller has to find.
 * Event-driven: progress is integrated between admissions/completions, with no ticking timer.
 */

export interface SchedulerOptions {
  maxNumSeqs: number;
  prefillMs: number;
  /** Decode step time with a batch of one. */
  msPerToken: number;
  /** Step time = msPerToken × (1 + batchSlowdown × (batch − 1)). */
  batchSlowdown: number;
  /** KV-cache capacity in tokens, for the usage gauge. */
  kvCapacityTokens: number;
}

/** Time integrals of the queue lengths, so a client can take exact time-weighted means between two reads. */
export interface QueueIntegrals {
  atMs: number;
  /** ∫ waiting dt, in request·ms. */
  waitingMs: number;
  /** ∫ running dt, in request·ms. */
  runningMs: number;
  generatedTokens: number;
}

export interface Completion {
  queuedMs: number;
  e2eMs: number;
}

interface Job {
  promptTokens: number;
  tokens: number;
  prefillLeft: number;
  tokensLeft: number;
  arrivedAt: number;
  admittedAt: number;
  resolve: (c: Completion) => void;
}

export interface Submitted {
  done: Promise<Completion>;
  /** The client went away: vLLM aborts the request and frees its slot. */
  cancel(): void;
}

const EPS = 1e-6;

export class BatchScheduler {
  readonly #o: SchedulerOptions;
  #running = new Set<Job>();
  #waiting: Job[] = [];
  #last = performance.now();
  #timer: NodeJS.Timeout | null = null;
  #generated = 0;
  #maxRunning = 0;
  #maxWaiting = 0;
  #waitingIntegral = 0;
  #runningIntegral = 0;
  #closed = false;

  constructor(o: SchedulerOptions) {
    this.#o = o;
  }

  get running(): number {
    return this.#running.size;
  }
  get waiting(): number {
    return this.#waiting.length;
  }
  get maxRunning(): number {
    return this.#maxRunning;
  }
  get maxWaiting(): number {
    return this.#maxWaiting;
  }

  /** Tokens generated so far, counted as they are produced (for vllm:generation_tokens_total). */
  get generatedTokens(): number {
    this.#advance();
    return Math.floor(this.#generated + EPS);
  }

  /** Mean waiting over [a, b] = (b.waitingMs − a.waitingMs) ÷ (b.atMs − a.atMs): what vLLM's num_requests_waiting averages to. */
  integrals(): QueueIntegrals {
    this.#advance();
    return { atMs: this.#last, waitingMs: this.#waitingIntegral, runningMs: this.#runningIntegral, generatedTokens: this.#generated };
  }

  get kvCacheUsage(): number {
    this.#advance();
    let used = 0;
    for (const j of this.#running) used += j.promptTokens + (j.tokens - j.tokensLeft);
    return Math.min(1, used / this.#o.kvCapacityTokens);
  }

  submit(promptTokens: number, tokens: number): Submitted {
    const now = performance.now();
    let resolve!: (c: Completion) => void;
    const done = new Promise<Completion>((r) => (resolve = r));
    const job: Job = { promptTokens, tokens, prefillLeft: this.#o.prefillMs, tokensLeft: tokens, arrivedAt: now, admittedAt: now, resolve };
    this.#advance();
    this.#waiting.push(job);
    this.#settle();
    return {
      done,
      cancel: () => {
        this.#advance();
        const i = this.#waiting.indexOf(job);
        if (i >= 0) this.#waiting.splice(i, 1);
        this.#running.delete(job);
        this.#settle();
      },
    };
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #stepMs(batch: number): number {
    return this.#o.msPerToken * (1 + this.#o.batchSlowdown * Math.max(0, batch - 1));
  }

  /** Integrates progress since the last event; the batch size is constant in between. */
  #advance(): void {
    const now = performance.now();
    const dt = now - this.#last;
    this.#last = now;
    if (dt <= 0) return;
    // Queue lengths only change at events, each of which advances first: these are exact.
    this.#waitingIntegral += dt * this.#waiting.length;
    this.#runningIntegral += dt * this.#running.size;
    if (this.#running.size === 0) return;
    const step = this.#stepMs(this.#running.size);
    for (const j of this.#running) {
      const p = Math.min(dt, j.prefillLeft);
      j.prefillLeft -= p;
      const rest = dt - p;
      if (rest <= 0) continue;
      const gen = step <= 0 ? j.tokensLeft : Math.min(j.tokensLeft, rest / step);
      j.tokensLeft -= gen;
      this.#generated += gen;
    }
  }

  #settle(): void {
    if (this.#closed) return;
    const now = performance.now();
    for (const j of this.#running) {
      if (j.prefillLeft <= EPS && j.tokensLeft <= EPS) {
        this.#running.delete(j);
        j.resolve({ queuedMs: j.admittedAt - j.arrivedAt, e2eMs: now - j.arrivedAt });
      }
    }
    while (this.#running.size < this.#o.maxNumSeqs && this.#waiting.length > 0) {
      const j = this.#waiting.shift()!;
      j.admittedAt = now;
      this.#running.add(j);
    }
    this.#maxRunning = Math.max(this.#maxRunning, this.#running.size);
    this.#maxWaiting = Math.max(this.#maxWaiting, this.#waiting.length);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#running.size === 0) return;
    const step = this.#stepMs(this.#running.size);
    let next = Infinity;
    for (const j of this.#running) next = Math.min(next, j.prefillLeft + j.tokensLeft * step);
    this.#timer = setTimeout(
      () => {
        this.#advance();
        this.#settle();
      },
      Math.max(0, Math.ceil(next)),
    );
  }
}
