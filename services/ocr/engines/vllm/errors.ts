/**
 * How a failed call to vLLM becomes a FolioError. The code decides what happens next: REJECTED is
 * never retried unchanged; UNAVAILABLE (the page never ran: overload, unreachable) may go to another
 * backend; FAILED is this page's failure (retried later through the pipeline).
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { FolioError } from '../../../../shared/operations/index.ts';

export function mapVllmError(err: unknown, backend: string): FolioError {
  if (err instanceof FolioError) return err;
  const details = { backend };
  // Order matters: the timeout error is a subclass of the connection error.
  if (err instanceof APIConnectionTimeoutError) return new FolioError('FOLIO_ENGINE_TIMEOUT', 'vLLM did not answer in time', details, { cause: err });
  if (err instanceof APIConnectionError) return new FolioError('FOLIO_ENGINE_UNAVAILABLE', `vLLM unreachable: ${causeText(err)}`, details, { cause: err });
  if (err instanceof APIError && err.status !== undefined) {
    const s = err.status;
    const msg = `vLLM answered ${s}: ${err.message}`;
    const d = { ...details, status: s };
    if (s === 408 || s === 504) return new FolioError('FOLIO_ENGINE_TIMEOUT', msg, d, { cause: err });
    // vLLM itself never sends 429, but a gateway in front of it may: that is overload, not a bad page.
    // 503 is vLLM's capped queue (or a gateway's "no upstream"), 502 a gateway that lost vLLM.
    if (s === 429 || s === 502 || s === 503) return new FolioError('FOLIO_ENGINE_UNAVAILABLE', msg, d, { cause: err });
    // Any other 5xx failed this page; whether the engine itself is dead is for the engine to check.
    if (s >= 500) return new FolioError('FOLIO_ENGINE_FAILED', msg, d, { cause: err });
    // 400 (context overflow, bad image), 404 (unknown model), 401/403 (key): the same request fails again.
    return new FolioError('FOLIO_ENGINE_REJECTED', msg, d, { cause: err });
  }
  // Invalid JSON in a 200 answer surfaces as a SyntaxError from the client's response.json().
  if (err instanceof SyntaxError) return new FolioError('FOLIO_ENGINE_MALFORMED', `vLLM sent invalid JSON: ${err.message}`, details, { cause: err });
  if (isAbort(err)) return new FolioError('FOLIO_ENGINE_TIMEOUT', 'vLLM call aborted', details, { cause: err });
  // A socket reset mid-body and similar transport failures.
  if (err instanceof TypeError) return new FolioError('FOLIO_ENGINE_UNAVAILABLE', `vLLM transport failure: ${causeText(err)}`, details, { cause: err });
  return new FolioError('FOLIO_ENGINE_FAILED', err instanceof Error ? err.message : String(err), details, { cause: err });
}

/**
 * A fetch for the OpenAI client that keeps vLLM's error text in every format. The client reads the
 * message from `{"error": {...}}` only; older vLLM answers `{"object": "error", "message": …}` and
 * FastAPI `{"detail": …}`, which it reports as "400 status code (no body)". Such bodies are
 * rewritten into the `error` shape; everything else passes through untouched.
 */
export function keepErrorText(inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const res = await inner(input, init);
    if (res.ok || !(res.headers.get('content-type') ?? '').includes('json')) return res;
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    const b = body as Record<string, unknown> | null;
    if (b && typeof b === 'object' && !('error' in b) && ('message' in b || 'detail' in b)) {
      const message = typeof b.message === 'string' ? b.message : typeof b.detail === 'string' ? b.detail : JSON.stringify(b.message ?? b.detail);
      body = { error: { message, type: b.type ?? null, param: b.param ?? null, code: b.code ?? res.status } };
    }
    const headers = new Headers(res.headers);
    headers.delete('content-length');
    return new Response(JSON.stringify(body), { status: res.status, statusText: res.statusText, headers });
  };
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

function causeText(err: Error): string {
  const cause = (err as { cause?: unknown }).cause;
  const code = (cause as { code?: string } | undefined)?.code;
  return code ?? (cause instanceof Error ? cause.message : err.message);
}
