// Shared pieces of the benchmarks: the calibrated simulator settings, an ideal client, a stack
// started for measuring, job submission and completion through NATS events, and statistics.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../shared/config/index.ts';
import { startStack, type ServiceName, type Stack } from '../services/all/stack.ts';
import { buildRequestBody, TASK_PROMPTS } from '../services/ocr/engines/vllm/deepseek.ts';
import type { VllmSimulator, VllmSimulatorOptions, VllmSimulatorStats } from '../tools/vllm-sim/server.ts';

/**
 * The simulator as calibrated (tools/vllm-sim defaults: DeepSeek-OCR on one A100-40G, 100
 * sequences, ~2,500 tokens/s, 1,000 tokens a page, 100 tokens/s single-stream), its clock run
 * BENCH_TIME_SCALE times faster (default 4: ~10 pages/s, a page ~2.5 s alone, ~10 s in a full batch)
 * so a run stays short while the plumbing is not the limit. Figures in pages/s are reported both as
 * measured and divided by the scale ("model time", what one A100 would do).
 */
export const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? 4);
export const CALIBRATED: VllmSimulatorOptions = { timeScale: TIME_SCALE };
export const MAX_NUM_SEQS = 100;

export const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
export const p50 = (xs: number[]) => quantile(xs, 0.5);
export const tmpDir = () => mkdtempSync(path.join(os.tmpdir(), 'folio-bench-'));
export const fixture = (name: string) => readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url));

/** One page request exactly as Folio's vLLM engine sends it (markdown prompt, max_tokens 2000). */
export function pageRequestBody(image: Buffer): string {
  return JSON.stringify(buildRequestBody({ model: 'deepseek-ai/DeepSeek-OCR', image, prompt: TASK_PROMPTS.markdown, maxTokens: 2000 }));
}

export async function postPage(url: string, body: string): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (r.status !== 200) throw new Error(`simulator answered ${r.status}: ${await r.text()}`);
  await r.arrayBuffer();
  return performance.now() - t0;
}

/** What the simulator did over a window: pages/s from its token clock (exact, no wave effects) and mean queue lengths. */
export interface SimWindow {
  seconds: number;
  pagesPerS: number;
  modelPagesPerS: number;
  meanRunning: number;
  meanWaiting: number;
}

export function simWindow(a: VllmSimulatorStats, b: VllmSimulatorStats, tokensPerPage = 1000): SimWindow {
  const ms = b.integrals.atMs - a.integrals.atMs;
  const pagesPerS = ((b.integrals.generatedTokens - a.integrals.generatedTokens) / tokensPerPage / ms) * 1000;
  return {
    seconds: round(ms / 1000, 1),
    pagesPerS: round(pagesPerS),
    modelPagesPerS: round(pagesPerS / TIME_SCALE, 3),
    meanRunning: round((b.integrals.runningMs - a.integrals.runningMs) / ms, 1),
    meanWaiting: round((b.integrals.waitingMs - a.integrals.waitingMs) / ms, 2),
  };
}

/**
 * The capacity of a backend measured directly: an ideal client keeps `concurrency` requests in
 * flight (a new one the moment one returns), and the window starts after `warmupS`.
 */
export async function idealCapacity(sims: VllmSimulator[], concurrency: number[], body: string, warmupS: number, windowS: number): Promise<SimWindow[]> {
  let stop = false;
  const loops = sims.flatMap((sim, i) =>
    Array.from({ length: concurrency[i] }, async () => {
      while (!stop) await postPage(sim.url, body);
    }),
  );
  await sleep(warmupS * 1000);
  const a = sims.map((s) => s.stats());
  await sleep(windowS * 1000);
  const b = sims.map((s) => s.stats());
  stop = true;
  await Promise.all(loops);
  return sims.map((_, i) => simWindow(a[i], b[i]));
}

/** The stack as a benchmark runs it: no rate limit, caps raised explicitly where a benchmark needs more. */
export async function startBenchStack(env: Record<string, string>, services?: ServiceName[]): Promise<Stack> {
  return startStack(
    loadConfig({
      FOLIO_RATE_LIMIT_MAX: '0',
      FOLIO_TMP_DIR: tmpDir(),
      LOG_LEVEL: 'silent',
      FOLIO_SWEEP_INTERVAL_S: '0',
      ...env,
    }),
    { port: 0, ...(services ? { services } : {}) },
  );
}

/**
 * Completion of jobs, from the terminal events on NATS (what a NATS subscriber sees; costs the
 * services nothing, unlike polling the status route).
 */
export class JobWatcher {
  #nc!: NatsConnection;
  #waiters = new Map<string, (kind: string) => void>();
  #early = new Map<string, string>();
  readonly ended: Array<{ jobId: string; kind: string; at: number }> = [];

  static async start(natsUrl: string): Promise<JobWatcher> {
    const w = new JobWatcher();
    w.#nc = await connect({ servers: natsUrl, noAsyncTraces: true });
    const sub = w.#nc.subscribe('folio.events.*.*.*');
    void (async () => {
      for await (const m of sub) {
        const [, , , jobId, kind] = m.subject.split('.');
        if (kind === 'progress') continue;
        w.ended.push({ jobId, kind, at: performance.now() });
        const resolve = w.#waiters.get(jobId);
        if (resolve) {
          w.#waiters.delete(jobId);
          resolve(kind);
        } else w.#early.set(jobId, kind);
      }
    })();
    await w.#nc.flush();
    return w;
  }

  wait(jobId: string, timeoutMs = 600_000): Promise<string> {
    const early = this.#early.get(jobId);
    if (early) {
      this.#early.delete(jobId);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`job ${jobId} did not end within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.set(jobId, (k) => {
        clearTimeout(t);
        resolve(k);
      });
    });
  }

  async close() {
    await this.#nc.close();
  }
}

export async function submit(baseUrl: string, file: Buffer, name: string, fields: Record<string, string> = {}): Promise<string> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([new Uint8Array(file)]), name);
  const res = await fetch(`${baseUrl}/v1/jobs`, { method: 'POST', body: form });
  if (res.status !== 202 && res.status !== 200) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** A sync call (`POST /v1/ocr?wait=`), timed from the first byte sent to the Markdown received. */
export async function syncOcr(baseUrl: string, file: Buffer, name: string): Promise<number> {
  const form = new FormData();
  form.append('cache', 'bypass');
  form.append('file', new Blob([new Uint8Array(file)]), name);
  const t0 = performance.now();
  const res = await fetch(`${baseUrl}/v1/ocr?wait=120`, { method: 'POST', body: form, headers: { accept: 'text/markdown' } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`sync OCR answered ${res.status}: ${text.slice(0, 300)}`);
  return performance.now() - t0;
}

/** Runs `fn` with `n` workers pulling indices 0..count-1. */
export async function pool<T>(count: number, n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, count) }, async () => {
      for (let i = next++; i < count; i = next++) out[i] = await fn(i);
    }),
  );
  return out;
}

/** How loaded the machine was: the 1-minute load average against its cores, sampled now. */
export function machineLoad() {
  return { loadAvg1m: round(os.loadavg()[0]), cores: os.cpus().length };
}

/** Folio's own side of a window, from its /metrics: whether the OCR service had pages to send and room to send them. */
export interface FolioSide {
  /** Mean of the OCR service's flow-control window (sum over backends). */
  meanOcrWindow: number;
  /** Mean pages inside the OCR service's engine calls. */
  meanOcrInFlight: number;
  /** Mean messages in the pages stream (waiting for the OCR service or in flight there): 0 means the stages before it were the limit. */
  meanPagesStream: number;
}

/** Samples the stack's /metrics every `everyMs` until stopped; the means tell a starved OCR service from a window-limited one. */
export function sampleFolio(baseUrl: string, everyMs = 500): { stop(): FolioSide } {
  const sums = { w: 0, f: 0, s: 0, n: 0 };
  const read = (text: string, name: string, labels = '') => {
    const m = new RegExp(`^${name}${labels ? `\\{[^}]*${labels}[^}]*\\}` : '(?:\\{[^}]*\\})?'} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const text = await (await fetch(`${baseUrl}/metrics`)).text();
      sums.w += read(text, 'folio_ocr_window');
      sums.f += read(text, 'folio_ocr_pages_in_flight');
      sums.s += read(text, 'folio_stream_messages', 'stream="FOLIO_PAGES"');
      sums.n++;
    } catch {
      // a missed sample is only a smaller sample
    } finally {
      busy = false;
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const mean = (x: number) => round(sums.n ? x / sums.n : NaN, 1);
      return { meanOcrWindow: mean(sums.w), meanOcrInFlight: mean(sums.f), meanPagesStream: mean(sums.s) };
    },
  };
}
