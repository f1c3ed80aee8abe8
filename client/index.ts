/**
 * A small typed client for Folio's HTTP API, used by the CLI and the tests. Its types are the
 * zod-inferred types of shared/api-schemas.ts (the source the OpenAPI document is generated
 * from); ROUTES names the operation each method calls, and a test checks them against the
 * served document.
 */
import type { BatchAccepted, JobAccepted, JobView, ErrorBody } from '../shared/api-schemas.ts';
import type { JobOptions } from '../shared/messages.ts';

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
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(`${code}: ${message}`);
  }
}

export class FolioClient {
  private readonly base: string;
  constructor(private readonly o: { baseUrl: string; apiKey?: string; fetch?: typeof fetch }) {
    this.base = o.baseUrl.replace(/\/+$/, '');
  }

  private headers(extra: Record<string, string> = {}) {
    return { ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}), ...extra };
  }

  private async call(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await (this.o.fetch ?? fetch)(`${this.base}${path}`, { ...init, headers: this.headers(init.headers as Record<string, string>) });
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as ErrorBody | null;
      throw new FolioApiError(res.status, body?.error?.code ?? `HTTP_${res.status}`, body?.error?.message ?? res.statusText, body?.error?.details);
    }
    return res;
  }

  async submit(file: Blob, name: string, options: SubmitOptions = {}): Promise<JobAccepted> {
    const form = new FormData();
    for (const [k, v] of Object.entries(options)) if (v !== undefined) form.append(k, String(v));
    form.append('file', file, name);
    return (await this.call(ROUTES.submitJob[1], { method: 'POST', body: form })).json();
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
    const res = await this.call(ROUTES.submitJob[1], { method: 'POST', body: form });
    const body = (await res.json()) as BatchAccepted | JobAccepted;
    // One document is answered as a single job: shown as a batch of one, for one shape to handle.
    return 'jobs' in body ? body : { batch: body.batch ?? '', jobs: [{ index: 0, name: 'url' in docs[0] ? docs[0].url : docs[0].name, ...body }], errors: [] };
  }

  /** A document the server fetches from a URL (http/https; private addresses are refused by the server). */
  async submitUrl(url: string, options: SubmitOptions = {}): Promise<JobAccepted> {
    const res = await this.call(ROUTES.submitJob[1], { method: 'POST', body: JSON.stringify({ ...options, url }), headers: { 'content-type': 'application/json' } });
    return res.json();
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
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let last: JobView | undefined;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (!frame.includes('event: status') || !data) continue;
        last = JSON.parse(data) as JobView;
        onStatus(last);
        if ((TERMINAL as readonly string[]).includes(last.status)) {
          await reader.cancel().catch(() => {});
          return last;
        }
      }
    }
    // The stream ended early (a proxy, a restart): the status says where the job is.
    const now = await this.status(id);
    return (TERMINAL as readonly string[]).includes(now.status) ? now : this.watch(id, onStatus, signal);
  }
}
