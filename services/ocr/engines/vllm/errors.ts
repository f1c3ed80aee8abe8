/**
 * How a failed call to vLLM becomes a FolioError. The code decides what happens next: REJECTED is
 * never retried unchanged, UNAVAILABLE/TIMEOUT also take the backend out of rotation.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { FolioError } from '../../../../shared/errors.ts';

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
    if (s === 408) return new FolioError('FOLIO_ENGINE_TIMEOUT', msg, d, { cause: err });
    // vLLM itself never sends 429, but a gateway in front of it may: that is overload, not a bad page.
    if (s === 429 || s >= 500) return new FolioError('FOLIO_ENGINE_UNAVAILABLE', msg, d, { cause: err });
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

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

function causeText(err: Error): string {
  const cause = (err as { cause?: unknown }).cause;
  const code = (cause as { code?: string } | undefined)?.code;
  return code ?? (cause instanceof Error ? cause.message : err.message);
}
