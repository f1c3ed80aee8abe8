import { ErrorTable, type ErrorCode } from '../../shared/operations/index.ts';
import type { ErrorInfo, JobStatus } from '../../shared/bus/index.ts';

/**
 * Codes whose message may carry raw exception text (toFolioError wraps whatever was thrown:
 * stack-ish messages, host names, paths). Clients see the code's own message; the stage that
 * failed logged the detail.
 */
const RAW_TEXT_CODES = new Set<string>(['FOLIO_INTERNAL', 'FOLIO_UNAVAILABLE']);

export function publicError(e: ErrorInfo): ErrorInfo {
  if (!RAW_TEXT_CODES.has(e.code) && e.code in ErrorTable) return e;
  const known = ErrorTable[e.code as ErrorCode];
  return { code: known ? e.code : 'FOLIO_INTERNAL', message: (known ?? ErrorTable.FOLIO_INTERNAL).message };
}

/** A job status as its owner sees it over HTTP (status, SSE, compat): errors through publicError. */
export function publicJob(s: JobStatus): JobStatus {
  return {
    ...s,
    ...(s.error ? { error: publicError(s.error) } : {}),
    ...(s.pageDetails ? { pageDetails: s.pageDetails.map((p) => (p.error ? { ...p, error: publicError(p.error) } : p)) } : {}),
  };
}
