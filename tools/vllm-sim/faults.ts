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
  /** Pages (images) that loop, chosen by what the model is sent: the first matching entry applies. */
  loops?: LoopSpec[];
  /** Log-probability of every token when a request asks for `logprobs` (default -0.02, p ≈ 0.98). */
  logprob?: number;
}

/**
 * A page that loops. `repeat`: the loop ends on its own (finish_reason `stop`) with the text said
 * over and over; `length`: it runs into max_tokens. `mitigable`: a request carrying a loop
 * mitigation (repetition_penalty > 1, presence_penalty > 0, or temperature ≥ 0.2) reads the page
 * normally, as such retries often do; otherwise the page loops whatever the request says.
 */
export interface LoopSpec {
  /** Match on the image's size as sent (either or both); sha256 of its bytes matches one image exactly. */
  width?: number;
  height?: number;
  sha256?: string;
  kind?: 'repeat' | 'length';
  mitigable?: boolean;
}

/** Whether a request body carries a loop mitigation (the settings profiles send when reading a page again). */
export function isMitigated(body: Record<string, unknown>): boolean {
  const n = (k: string) => (typeof body[k] === 'number' ? (body[k] as number) : undefined);
  return (n('repetition_penalty') ?? 1) > 1 || (n('presence_penalty') ?? 0) > 0 || (n('temperature') ?? 0) >= 0.2;
}

export class Faults {
  #next: FaultKind[] = [];
  #rates: Partial<Record<FaultKind, number>> = {};
  #random: () => number = mulberry32(1);
  #down = false;
  #loops: LoopSpec[] = [];
  #logprob = -0.02;

  constructor(plan: FaultPlan = {}) {
    this.set(plan);
  }

  /** Replaces the whole plan. */
  set(plan: FaultPlan): void {
    this.#next = [...(plan.next ?? [])];
    this.#rates = { ...(plan.rates ?? {}) };
    this.#random = mulberry32(plan.seed ?? 1);
    this.#down = plan.down ?? false;
    this.#loops = [...(plan.loops ?? [])];
    this.#logprob = plan.logprob ?? -0.02;
  }

  get logprob(): number {
    return this.#logprob;
  }

  /** How this image loops for this request, if it does. */
  loopFor(image: { width: number; height: number; sha256: string }, body: Record<string, unknown>): 'repeat' | 'length' | null {
    const spec = this.#loops.find(
      (l) =>
        (l.width === undefined || l.width === image.width) &&
        (l.height === undefined || l.height === image.height) &&
        (l.sha256 === undefined || l.sha256 === image.sha256),
    );
    if (!spec || (spec.mitigable && isMitigated(body))) return null;
    return spec.kind ?? 'repeat';
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
