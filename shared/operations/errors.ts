/**
 * The one error table. Codes are stable API: clients and tests match on `code`, never on text.
 * `status` is the HTTP mapping (used by ingest's single error handler); `retryable` tells the
 * consumer loop whether another delivery could succeed.
 */
export const ErrorTable = {
  FOLIO_INVALID_OPTIONS: { status: 400, retryable: false, message: 'Invalid request options' },
  FOLIO_MULTIPART_MALFORMED: { status: 400, retryable: false, message: 'Malformed multipart body' },
  FOLIO_FILE_MISSING: { status: 400, retryable: false, message: 'No file part in the request' },
  FOLIO_FILE_EMPTY: { status: 400, retryable: false, message: 'The uploaded file is empty' },
  FOLIO_UNAUTHORIZED: { status: 401, retryable: false, message: 'Missing or invalid API key' },
  FOLIO_JOB_NOT_FOUND: { status: 404, retryable: false, message: 'No such job' },
  FOLIO_TABLE_NOT_FOUND: { status: 404, retryable: false, message: 'The document has no such table' },
  FOLIO_ROUTE_NOT_FOUND: { status: 404, retryable: false, message: 'No such route' },
  FOLIO_RESULT_NOT_READY: { status: 409, retryable: false, message: 'The job has no result yet' },
  FOLIO_JOB_FINISHED: { status: 409, retryable: false, message: 'The job already finished' },
  FOLIO_UPLOAD_TOO_LARGE: { status: 413, retryable: false, message: 'The upload exceeds the size limit' },
  FOLIO_UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'Unsupported file type' },
  FOLIO_PDF_CORRUPT: { status: 422, retryable: false, message: 'The PDF cannot be read' },
  FOLIO_PDF_ENCRYPTED: { status: 422, retryable: false, message: 'The PDF is password protected' },
  FOLIO_TOO_MANY_PAGES: { status: 422, retryable: false, message: 'The document has too many pages' },
  FOLIO_PAGE_RANGE_EMPTY: { status: 422, retryable: false, message: 'The page range selects no page of the document' },
  FOLIO_IMAGE_CORRUPT: { status: 422, retryable: false, message: 'The image cannot be decoded' },
  FOLIO_IMAGE_TOO_LARGE: { status: 422, retryable: false, message: 'The image has too many pixels' },
  FOLIO_RATE_LIMITED: { status: 429, retryable: true, message: 'Too many requests' },
  FOLIO_UNAVAILABLE: { status: 503, retryable: true, message: 'A dependency is unavailable' },
  FOLIO_OVERLOADED: { status: 503, retryable: true, message: 'This server is at capacity; retry after the Retry-After delay' },
  FOLIO_INTERNAL: { status: 500, retryable: true, message: 'Internal error' },
  // Pipeline-side codes: they reach users through a job's page errors, not as HTTP statuses.
  FOLIO_RENDER_FAILED: { status: 500, retryable: true, message: 'The page could not be rendered' },
  FOLIO_BLOB_MISSING: { status: 500, retryable: true, message: 'A stored object is missing' },
  FOLIO_ENGINE_UNAVAILABLE: { status: 503, retryable: true, message: 'The OCR backend is unavailable' },
  FOLIO_ENGINE_TIMEOUT: { status: 504, retryable: true, message: 'The OCR backend timed out' },
  FOLIO_ENGINE_REJECTED: { status: 502, retryable: false, message: 'The OCR backend rejected the request' },
  FOLIO_ENGINE_TRUNCATED: { status: 502, retryable: true, message: 'The OCR output was truncated (length limit or repetition loop)' },
  FOLIO_ENGINE_MALFORMED: { status: 502, retryable: true, message: 'The OCR backend sent a malformed answer' },
  FOLIO_ENGINE_FAILED: { status: 500, retryable: true, message: 'The OCR engine failed' },
  FOLIO_JOB_CANCELLED: { status: 409, retryable: false, message: 'The job was cancelled' },
  // Issue 18: a page every engine in its order read badly (after the profile's retry): the page fails, the job ends partial.
  FOLIO_PAGE_LOOPING: { status: 502, retryable: false, message: 'Every engine tried looped on this page (repeated text), retries and fallbacks included' },
  FOLIO_PAGE_TRUNCATED: { status: 502, retryable: false, message: 'Every engine tried ran out of tokens on this page, retries and fallbacks included' },
  // Never-stuck guarantees: a message past its attempt budget, a step past its deadline, a job without progress.
  FOLIO_ATTEMPTS_EXHAUSTED: { status: 500, retryable: false, message: 'Every allowed attempt ended without a result (the worker crashed or hung each time)' },
  FOLIO_STEP_TIMEOUT: { status: 504, retryable: true, message: 'A processing step passed its deadline' },
  FOLIO_STALLED: { status: 500, retryable: false, message: 'The job made no progress and had no work waiting; it was ended by the sweeper' },
  FOLIO_ASSEMBLY_FAILED: { status: 500, retryable: false, message: 'The document could not be assembled' },
  // The HTTP edge (issue 7): cross-site requests, stalled uploads, tenant quotas and caps.
  FOLIO_FORBIDDEN_ORIGIN: { status: 403, retryable: false, message: 'Cross-site request refused' },
  FOLIO_REQUEST_TIMEOUT: { status: 408, retryable: true, message: 'The request body stalled or took too long' },
  FOLIO_QUOTA_EXCEEDED: { status: 429, retryable: true, message: 'A tenant quota is used up' },
  // Sandboxed rendering (issue 6): pdf.js and sharp run in child processes with a deadline and a memory cap.
  FOLIO_RENDER_TIMEOUT: { status: 422, retryable: false, message: 'Rendering passed its deadline (the page or document is too complex)' },
  FOLIO_RENDER_CRASHED: { status: 422, retryable: false, message: 'The renderer crashed or ran out of memory on this page or document' },
  // Inputs (issue 10): several files per request, URLs to fetch, Office documents.
  FOLIO_TOO_MANY_FILES: { status: 400, retryable: false, message: 'Too many files in one request' },
  FOLIO_URL_INVALID: { status: 400, retryable: false, message: 'The URL is not an http or https URL Folio may fetch' },
  FOLIO_URL_FORBIDDEN: { status: 403, retryable: false, message: 'The URL leads to a private, loopback, link-local, multicast or unspecified address' },
  FOLIO_FETCH_FAILED: { status: 502, retryable: true, message: 'The document could not be fetched from its URL' },
  FOLIO_FETCH_TIMEOUT: { status: 504, retryable: true, message: 'Fetching the document passed its deadline' },
  FOLIO_CONVERTER_MISSING: { status: 415, retryable: false, message: 'Office documents need LibreOffice (soffice), which is not installed on this server' },
  FOLIO_CONVERSION_FAILED: { status: 422, retryable: false, message: 'The Office document could not be converted to PDF' },
} as const;

export type ErrorCode = keyof typeof ErrorTable;

export class FolioError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details?: Record<string, unknown>;
  /** False when the message is raw exception text (a library's, a path, a host): logged, never shown to clients. */
  readonly public: boolean;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: { cause?: unknown; public?: boolean }) {
    super(message ?? ErrorTable[code].message, options);
    this.name = 'FolioError';
    this.code = code;
    this.status = ErrorTable[code].status;
    this.retryable = ErrorTable[code].retryable;
    this.details = details;
    this.public = options?.public ?? true;
  }

  toJSON() {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isFolioError(err: unknown): err is FolioError {
  return err instanceof FolioError;
}

const UNAVAILABLE_NAMES = /Timeout|NoResponders|Connection|RequestError|JetStreamNotEnabled/;
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);

/** A dependency (NATS, the object store) did not answer: worth a retry, and a 503 to HTTP clients. */
export function isDependencyDown(err: unknown): boolean {
  const e = err as { name?: string; code?: string; cause?: unknown } | undefined;
  if (!e) return false;
  if ((e.name && UNAVAILABLE_NAMES.test(e.name)) || (e.code && UNAVAILABLE_CODES.has(e.code))) return true;
  return e.cause !== undefined && e.cause !== err && isDependencyDown(e.cause);
}

/** Anything thrown that is not a FolioError becomes FOLIO_INTERNAL (retryable): unknown means try again. */
export function toFolioError(err: unknown): FolioError {
  if (isFolioError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isDependencyDown(err)) return new FolioError('FOLIO_UNAVAILABLE', `A dependency did not answer: ${message}`, undefined, { cause: err, public: false });
  return new FolioError('FOLIO_INTERNAL', message, undefined, { cause: err, public: false });
}

/**
 * Codes whose message may carry raw exception text (toFolioError wraps whatever was thrown:
 * stack-ish messages, host names, paths). A stored error of these codes shows the code's own message.
 */
const RAW_TEXT_CODES: ReadonlySet<string> = new Set<ErrorCode>(['FOLIO_INTERNAL', 'FOLIO_UNAVAILABLE']);

/**
 * The one rule for what clients see of an error (job status, events, webhooks, HTTP bodies): its
 * message only when it is known to be written for them, else its code's own message; the detail
 * stays in the log of the stage that failed. A FolioError knows (`public` is false for wrapped
 * exception text). A stored error ({code, message} read back from a job) has lost that flag, so
 * its code decides: RAW_TEXT_CODES show their own message, and a code this version does not know
 * shows as FOLIO_INTERNAL.
 */
export function publicError(e: FolioError | { code: string; message: string }): { code: ErrorCode; message: string } {
  if (isFolioError(e)) return { code: e.code, message: e.public ? e.message : ErrorTable[e.code].message };
  const code: ErrorCode = Object.hasOwn(ErrorTable, e.code) ? (e.code as ErrorCode) : 'FOLIO_INTERNAL';
  return { code, message: code === e.code && !RAW_TEXT_CODES.has(code) ? e.message : ErrorTable[code].message };
}
