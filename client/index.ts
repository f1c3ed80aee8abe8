/**
 * A small typed client for Folio's HTTP API, used by the CLI and the tests. Its types are the
 * zod-inferred types of shared/document/api-schemas.ts (the source the OpenAPI document is generated
 * from); ROUTES names the operation each method calls, and a test checks them against the
 * served document.
 */
import type { BatchAccepted, JobAccepted, JobView, ErrorBody } from '../shared/document/index.ts';
import type { JobOptions } from '../shared/bus/index.ts';
import { readStatusEvents } from './sse.js';

export type { BatchAccepted, JobAccepted, JobView };
export type SubmitOptions = Partial<{ [K in keyof JobOptions]: string | number }> & { webhook?: string };

/** operationId → [method, path] in the OpenAPI document. */
export const ROUTES = {
  submitJob: ['post', '/v1/jobs'],
  getJob: ['get', '/v1/jobs/{id}'],
  getResult: ['get', '/v1/jobs/{id}/result'],
  streamJobEvents: ['get', '/v1/jobs/{id}/events'],
  cancelJob: ['delete', '/v1/jobs/{id}'],
  getWebhookSecret: ['get', '/v1/webhook-secret'],
} as const;

export const TERMINAL = ['completed', 'partial', 'failed', 'cancelled'] as const;

export class FolioApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly retryAfterMs?: number,
  ) {
    super(`${code}: ${message}`);
  }
}

/** A refusal the client waits out before trying again (see RetryPolicy). */
export interface RetryWait {
  /** The call being retried, e.g. "POST /v1/jobs". */
  call: string;
  /** The attempt that was refused (1 = the first try). */
  attempt: number;
  /** How long the client waits before the next attempt: the server's Retry-After plus jitter. */
  waitMs: number;
  error: FolioApiError;
}

export interface RetryPolicy {
  /** Tries per call, the first included; 1 turns retrying off. Rate-limit refusals are bounded by maxWaitMs alone. */
  maxAttempts: number;
  /** Total time a call may spend waiting; a Retry-After that would go past it is not waited for. */
  maxWaitMs: number;
  /** Told before each wait (the CLI prints it). */
  onWait?: (w: RetryWait) => void;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 10, maxWaitMs: 300_000 };
/** Uploads in flight at once per client: within the server's default per-tenant cap (8), leaving room for the tenant's other clients. */
export const DEFAULT_UPLOAD_CONCURRENCY = 4;

/**
 * Only 429 (a rate limit or a quota) and 503 (the server or a dependency unavailable) clear by
 * themselves, and a refused request did nothing, so sending it again is safe whatever its method.
 * A file too large (413), a bad type (415) or bad options (400) would be refused again.
 */
export const isRetryable = (status: number) => status === 429 || status === 503;

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The server's Retry-After (1 s when it gave none) plus up to half of it again at random, so refused clients do not all come back at the same instant. */
export const withJitter = (ms: number | undefined, random = Math.random) => {
  const base = ms ?? 1000;
  return Math.round(base + random() * Math.max(250, base / 2));
};

/** A counting semaphore: at most `limit` holders at once; the limit can be lowered while in use. */
class Slots {
  private held = 0;
  private readonly queue: Array<() => void> = [];
  constructor(public limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    while (this.held >= this.limit) await new Promise<void>((r) => this.queue.push(r));
    this.held++;
    try {
      return await fn();
    } finally {
      this.held--;
      this.queue.shift()?.();
    }
  }
}

export class FolioClient {
  private readonly base: string;
  private readonly retry: RetryPolicy;
  private readonly uploads: Slots;
  /** A rate limit is the tenant's, not one call's: after a FOLIO_RATE_LIMITED every call of this client waits until then. */
  private notBefore = 0;
  constructor(private readonly o: { baseUrl: string; apiKey?: string; fetch?: typeof fetch; retry?: Partial<RetryPolicy>; uploadConcurrency?: number }) {
    this.base = o.baseUrl.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY, ...o.retry };
    this.uploads = new Slots(Math.max(1, o.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY));
  }

  private headers(extra: Record<string, string> = {}) {
    return { ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}), ...extra };
  }

  private async once(path: string, init: RequestInit): Promise<Response> {
    const res = await (this.o.fetch ?? fetch)(`${this.base}${path}`, { ...init, headers: this.headers(init.headers as Record<string, string>) });
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as ErrorBody | null;
      throw new FolioApiError(
        res.status,
        body?.error?.code ?? `HTTP_${res.status}`,
        body?.error?.message ?? res.statusText,
        body?.error?.details,
        retryAfterMs(res.headers.get('retry-after')),
      );
    }
    return res;
  }

  /** One API call, sent again after a 429 or 503 once the server's Retry-After has passed (bounded by the retry policy). */
  private async call(path: string, init: RequestInit = {}): Promise<Response> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (this.notBefore > Date.now()) await sleep(this.notBefore - Date.now() + Math.random() * 250, init.signal ?? undefined);
      try {
        return await this.once(path, init);
      } catch (err) {
        if (!(err instanceof FolioApiError) || !isRetryable(err.status)) throw err;
        // A rate limit always clears with time, and callers of one client share its budget, so
        // those refusals are bounded by the time budget alone; others by attempts as well.
        const rateLimited = err.code === 'FOLIO_RATE_LIMITED';
        if (!rateLimited && attempt >= this.retry.maxAttempts) throw err;
        const waitMs = withJitter(err.retryAfterMs);
        // A refusal that will not clear in the time left (a daily quota) is reported now, not waited for.
        if (Date.now() - started + waitMs > this.retry.maxWaitMs) throw err;
        this.learnLimit(err);
        if (rateLimited) this.notBefore = Math.max(this.notBefore, Date.now() + waitMs);
        this.retry.onWait?.({ call: `${init.method ?? 'GET'} ${path}`, attempt, waitMs, error: err });
        await sleep(waitMs, init.signal ?? undefined);
      }
    }
  }

  /** A refusal for the per-tenant upload cap says the cap: this client keeps under it from then on. */
  private learnLimit(err: FolioApiError) {
    const d = err.details as { quota?: string; limit?: number } | undefined;
    if (d?.quota === 'uploads' && typeof d.limit === 'number' && d.limit >= 1 && d.limit < this.uploads.limit) this.uploads.limit = d.limit;
  }

  /** Uploads in flight at most at once from this client (lowered when the server says its cap is lower). */
  get uploadConcurrency() {
    return this.uploads.limit;
  }

  async submit(file: Blob, name: string, options: SubmitOptions = {}): Promise<JobAccepted> {
    const form = new FormData();
    for (const [k, v] of Object.entries(options)) if (v !== undefined) form.append(k, String(v));
    form.append('file', file, name);
    return this.uploads.run(async () => (await this.call(ROUTES.submitJob[1], { method: 'POST', body: form })).json());
  }

  /**
   * Several documents in one request (files and URLs): a job each under one batch id. Resolves
   * on 202 and 207 (refused documents are in `errors`); throws when none was accepted.
   */
  async submitBatch(docs: Array<{ file: Blob; name: string } | { url: string }>, options: SubmitOptions = {}): Promise<BatchAccepted> {
    const form = new FormData();
    for (const [k, v] of Object.entries(options)) if (v !== undefined) form.append(k, String(v));
    for (const d of docs) {
      if ('url' in d) form.append('url', d.url);
      else form.append('file', d.file, d.name);
    }
    const body = await this.uploads.run(
      async () => (await (await this.call(ROUTES.submitJob[1], { method: 'POST', body: form })).json()) as BatchAccepted | JobAccepted,
    );
    // One document is answered as a single job: shown as a batch of one, for one shape to handle.
    return 'jobs' in body ? body : { batch: body.batch ?? '', jobs: [{ index: 0, name: 'url' in docs[0] ? docs[0].url : docs[0].name, ...body }], errors: [] };
  }

  /** A document the server fetches from a URL (http/https; private addresses are refused by the server). */
  async submitUrl(url: string, options: SubmitOptions = {}): Promise<JobAccepted> {
    return this.uploads.run(async () =>
      (
        await this.call(ROUTES.submitJob[1], { method: 'POST', body: JSON.stringify({ ...options, url }), headers: { 'content-type': 'application/json' } })
      ).json(),
    );
  }

  async status(id: string): Promise<JobView> {
    return (await this.call(`/v1/jobs/${encodeURIComponent(id)}`)).json();
  }

  async markdown(id: string): Promise<string> {
    return (await this.call(`/v1/jobs/${encodeURIComponent(id)}/result?format=markdown`)).text();
  }

  async document(id: string): Promise<unknown> {
    return (await this.call(`/v1/jobs/${encodeURIComponent(id)}/result?format=json`)).json();
  }

  /** 202 with the cancelled job, or null when a finished job's data was deleted (204). */
  async cancel(id: string): Promise<JobView | null> {
    const res = await this.call(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
    return res.status === 204 ? null : res.json();
  }

  async webhookSecret(): Promise<string> {
    return (await (await this.call(ROUTES.getWebhookSecret[1])).json()).secret;
  }

  /** Follows the job's Server-Sent Events, calling onStatus on each change; resolves with the terminal status. */
  async watch(id: string, onStatus: (s: JobView) => void = () => {}, signal?: AbortSignal): Promise<JobView> {
    const res = await this.call(`/v1/jobs/${encodeURIComponent(id)}/events`, { headers: { accept: 'text/event-stream' }, signal });
    const end = await readStatusEvents<JobView>(res.body!, (s) => {
      onStatus(s);
      return (TERMINAL as readonly string[]).includes(s.status);
    });
    if (end) return end;
    // The stream ended early (a proxy, a restart): the status says where the job is.
    const now = await this.status(id);
    return (TERMINAL as readonly string[]).includes(now.status) ? now : this.watch(id, onStatus, signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
