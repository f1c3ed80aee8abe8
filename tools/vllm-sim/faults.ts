/**
 * vllm-sim (test/benchmark tool): fault injection for chat completions.
 * `next` fails the next requests in order (one entry per request); `rates` fails a fraction at
 * random (seeded, so a benchmark run is repeatable); `down` plays a dead engine.
 */

/**
 * - `500`: engine error; `503`: overload (vLLM with a capped queue);
 * - `hang`: the request is never answered (the socket stays open);
 * - `malformed`: 200 with a body that is not valid JSON;
 * - `length`: the output runs into max_tokens like a repetition loop (finish_reason `length`).
 */
export type FaultKind = '500' | '503' | 'hang' | 'malformed' | 'length';
export const FAULT_KINDS: readonly FaultKind[] = ['500', '503', 'hang', 'malformed', 'length'];

export interface FaultPlan {
  next?: FaultKind[];
  rates?: Partial<Record<FaultKind, number>>;
  /** Seed for `rates` (default 1). */
  seed?: number;
  /** A dead engine: `/health` answers 503 and completions 500, as vLLM does after an engine crash. */
  down?: boolean;
}

export class Faults {
  #next: FaultKind[] = [];
  #rates: Partial<Record<FaultKind, number>> = {};
  #random: () => number = mulberry32(1);
  #down = false;

  constructor(plan: FaultPlan = {}) {
    this.set(plan);
  }

  /** Replaces the whole plan. */
  set(plan: FaultPlan): void {
    this.#next = [...(plan.next ?? [])];
    this.#rates = { ...(plan.rates ?? {}) };
    this.#random = mulberry32(plan.seed ?? 1);
    this.#down = plan.down ?? false;
  }

  get down(): boolean {
    return this.#down;
  }

  /** The fault for the request arriving now, if any (consumes one `next` entry). */
  draw(): FaultKind | null {
    if (this.#next.length > 0) return this.#next.shift()!;
    for (const kind of FAULT_KINDS) {
      const p = this.#rates[kind];
      if (p && this.#random() < p) return kind;
    }
    return null;
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
