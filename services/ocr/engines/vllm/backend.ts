/**
 * One vLLM server as the engine sees it: its OpenAI client, its concurrency window, whether it is
 * in service, the `/metrics` poller that feeds the window, and the prober that brings it back.
 */
import OpenAI from 'openai';
import type { Logger } from '../../../../shared/operations/index.ts';
import { AimdWindow, type WindowOptions } from './window.ts';
import { readVllmMetrics } from './metrics.ts';
import { keepErrorText } from './errors.ts';
import type { ModelProfile } from './profiles.ts';

export interface BackendOptions {
  /** Any of `http://host:8000`, `http://host:8000/`, `http://host:8000/v1`. */
  baseUrl: string;
  apiKey: string;
  /** The served model name this backend is asked for, and how to talk to it. */
  model: string;
  profile: ModelProfile;
  window: WindowOptions;
  /** First wait before probing a failed backend; doubles per failed probe up to maxCooldownMs. */
  cooldownMs: number;
  maxCooldownMs: number;
  /** 0 disables the `/metrics` poller. */
  metricsIntervalMs: number;
  /** Queued or running work with no generated token for this long means a stuck engine. */
  stuckMs: number;
  /** This many different pages failing in a row (HTTP 500 with /health fine) take the backend out (default 3). */
  maxPageFailures?: number;
  log?: Logger;
}

/** Server root without `/v1`: `/health` and `/metrics` live there. */
export function backendRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
}

export class Backend {
  readonly root: string;
  readonly client: OpenAI;
  readonly window: AimdWindow;
  inFlight = 0;
  #o: BackendOptions;
  #healthy = true;
  #cooldown: number;
  #probeTimer: NodeJS.Timeout | null = null;
  #pollTimer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Polls in a row whose answer had no request counts: the poll period backs off, it never stops. */
  #unusableScrapes = 0;
  /** Distinct pages that failed in a row since the last success. */
  #failedPages = new Set<string>();
  /** The server's context length from /v1/models (`max_model_len`), when it says. */
  contextTokens: number | undefined;
  #lastTokens: number | undefined;
  #lastProgressAt = Date.now();

  constructor(o: BackendOptions) {
    this.#o = o;
    this.root = backendRoot(o.baseUrl);
    // Retries belong to the pipeline (redelivery with backoff), so the client never retries on its own.
    this.client = new OpenAI({ baseURL: `${this.root}/v1`, apiKey: o.apiKey, maxRetries: 0, fetch: keepErrorText() });
    this.window = new AimdWindow(o.window);
    this.#cooldown = o.cooldownMs;
    if (o.metricsIntervalMs > 0) this.#schedulePoll(0);
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  get model(): string {
    return this.#o.model;
  }

  get profile(): ModelProfile {
    return this.#o.profile;
  }

  /** A page answered: the run of page failures is broken. */
  pageSucceeded(): void {
    this.#failedPages.clear();
  }

  /**
   * A page failed on a backend whose engine is alive. One page is the page's problem (it is retried
   * through the pipeline); several different pages failing in a row is the backend's.
   */
  pageFailed(pageKey: string, reason: string): void {
    this.#failedPages.add(pageKey);
    if (this.#failedPages.size >= (this.#o.maxPageFailures ?? 3)) {
      this.#failedPages.clear();
      this.markDown(`${this.#o.maxPageFailures ?? 3} different pages failed in a row: ${reason}`);
    }
  }

  /**
   * Asks /v1/models which models the server has. `missing`: it answers, without ours (a wrong
   * configured model name, which would fail every page). `unreachable`: no answer within the deadline.
   */
  async checkModel(timeoutMs: number): Promise<{ state: 'ok' } | { state: 'missing'; served: string[] } | { state: 'unreachable'; why: string }> {
    try {
      const res = await fetch(`${this.root}/v1/models`, { headers: { authorization: `Bearer ${this.#o.apiKey}` }, signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) {
        await res.body?.cancel();
        return { state: 'unreachable', why: `HTTP ${res.status}` };
      }
      const body = (await res.json()) as { data?: Array<{ id?: unknown; max_model_len?: unknown }> };
      const data = Array.isArray(body?.data) ? body.data : [];
      const ours = data.find((m) => m?.id === this.#o.model);
      if (!ours) return { state: 'missing', served: data.map((m) => String(m?.id)) };
      if (typeof ours.max_model_len === 'number' && ours.max_model_len > 0) this.contextTokens = ours.max_model_len;
      return { state: 'ok' };
    } catch (err) {
      return { state: 'unreachable', why: err instanceof Error ? err.message : String(err) };
    }
  }

  /** /health now, within a short deadline: tells a dead engine from a page it could not do. */
  async alive(): Promise<boolean> {
    return this.#alive();
  }

  /** Free places in the window; negative when the window shrank below what is in flight. */
  get free(): number {
    return this.window.size - this.inFlight;
  }

  /** Takes the backend out of rotation; a probe after the cool-down brings it back. */
  markDown(reason: string): void {
    if (this.#closed || !this.#healthy) return;
    this.#healthy = false;
    this.#o.log?.warn({ backend: this.root, reason, cooldownMs: this.#cooldown }, 'vLLM backend taken out of rotation');
    this.#scheduleProbe();
  }

  close(): void {
    this.#closed = true;
    if (this.#probeTimer) clearTimeout(this.#probeTimer);
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
  }

  #scheduleProbe(): void {
    this.#probeTimer = setTimeout(() => void this.#probe(), this.#cooldown);
    this.#probeTimer.unref();
  }

  async #probe(): Promise<void> {
    if (this.#closed) return;
    if (await this.#alive()) {
      this.#healthy = true;
      this.#cooldown = this.#o.cooldownMs;
      this.#lastProgressAt = Date.now();
      this.#o.log?.info({ backend: this.root }, 'vLLM backend back in rotation');
      return;
    }
    this.#cooldown = Math.min(this.#o.maxCooldownMs, this.#cooldown * 2);
    if (!this.#closed) this.#scheduleProbe();
  }

  /** vLLM's `/health` is 200 only while the engine lives; `/v1/models` is the fallback behind proxies. */
  async #alive(): Promise<boolean> {
    const timeout = Math.max(1000, Math.min(5000, this.#o.cooldownMs));
    try {
      const h = await fetch(`${this.root}/health`, { signal: AbortSignal.timeout(timeout) });
      await h.body?.cancel();
      if (h.ok) return true;
      if (h.status !== 404) return false;
      const m = await fetch(`${this.root}/v1/models`, {
        headers: { authorization: `Bearer ${this.#o.apiKey}` },
        signal: AbortSignal.timeout(timeout),
      });
      await m.body?.cancel();
      return m.ok;
    } catch {
      return false;
    }
  }

  #schedulePoll(delay: number): void {
    if (this.#closed) return;
    this.#pollTimer = setTimeout(() => void this.#poll(), delay);
    this.#pollTimer.unref();
  }

  async #poll(): Promise<void> {
    const interval = this.#o.metricsIntervalMs;
    // While out of rotation the prober owns the backend; polling resumes with it.
    if (this.#healthy) {
      try {
        const res = await fetch(`${this.root}/metrics`, { signal: AbortSignal.timeout(Math.max(1000, interval)) });
        if (res.ok) this.#onMetrics(await res.text());
        else {
          await res.body?.cancel();
          this.#unusable(`HTTP ${res.status}`);
        }
      } catch (err) {
        // A refused connection is the cheapest way to learn a backend is gone before a page finds out.
        if (isConnectionRefused(err)) this.markDown('metrics endpoint unreachable');
      }
    }
    // An unusable /metrics (an older vLLM, a proxy, a 404) is asked again ever less often, up to
    // once a minute, and never given up on: the server may be upgraded or the proxy fixed.
    // Until vLLM's batch limit is known the window grows once per scrape: scrape 4× as often then.
    const period = this.window.batchLimit === null && this.#unusableScrapes === 0 ? Math.min(interval, 250) : interval;
    this.#schedulePoll(Math.min(60_000, period * 2 ** Math.min(this.#unusableScrapes, 16)));
  }

  #onMetrics(text: string): void {
    const m = readVllmMetrics(text);
    if (!m) return this.#unusable('no vLLM request counts in the answer');
    this.#unusableScrapes = 0;
    const now = Date.now();
    // With our own count the window can tell our requests from other clients' (window.ts).
    this.window.onMetrics({ ...m, inFlight: this.inFlight }, now);
    if (m.generationTokens === undefined) return;
    const busy = m.running + m.waiting > 0;
    if (m.generationTokens !== this.#lastTokens || !busy) {
      this.#lastTokens = m.generationTokens;
      this.#lastProgressAt = now;
    } else if (now - this.#lastProgressAt > this.#o.stuckMs) {
      // An engine can hang while its HTTP server still answers: work queued, nothing generated.
      this.markDown('no tokens generated while requests wait');
    }
  }

  #unusable(why: string): void {
    if (this.#unusableScrapes++ === 0) this.#o.log?.info({ backend: this.root, why }, 'vLLM /metrics unusable for now; window adapts from responses meanwhile');
  }

  /** /metrics answers in a row that were unusable (0 once a good one came). */
  get unusableScrapes(): number {
    return this.#unusableScrapes;
  }
}

function isConnectionRefused(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } } | undefined)?.cause;
  return cause?.code === 'ECONNREFUSED' || cause?.code === 'ENOTFOUND' || cause?.code === 'EHOSTUNREACH';
}
