import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ZodError } from 'zod';
import { FolioError, isDependencyDown, isFolioError, type ErrorCode, type Metrics } from '../../shared/operations/index.ts';
import type { Audit } from './audit.ts';
import { bodyUntouched, drainRefusedBody, type DrainLimits } from './refusal-drain.ts';

/** Framework and plugin error codes → our stable codes. */
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_FILES_LIMIT: 'FOLIO_INVALID_OPTIONS',
  FST_PARTS_LIMIT: 'FOLIO_INVALID_OPTIONS',
  FST_FIELDS_LIMIT: 'FOLIO_INVALID_OPTIONS',
  FST_PROTO_VIOLATION: 'FOLIO_MULTIPART_MALFORMED',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'FOLIO_MULTIPART_MALFORMED',
  FST_REQ_FILE_TOO_LARGE: 'FOLIO_UPLOAD_TOO_LARGE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'FOLIO_UPLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'FOLIO_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'FOLIO_MULTIPART_MALFORMED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'FOLIO_INVALID_OPTIONS',
  FST_ERR_CTP_INVALID_JSON_BODY: 'FOLIO_INVALID_OPTIONS',
  FST_ERR_VALIDATION: 'FOLIO_INVALID_OPTIONS',
};

export function zodToFolio(err: ZodError): FolioError {
  const issues = err.issues.map((i) => ({ field: i.path.join('.') || undefined, message: i.message, ...('keys' in i ? { keys: i.keys } : {}) }));
  const summary = issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ');
  return new FolioError('FOLIO_INVALID_OPTIONS', `Invalid options: ${summary}`, { issues });
}

/** The one mapping from errors to HTTP answers: `{error: {code, message}}` with a stable code. */
export function toHttpError(err: unknown): FolioError {
  if (isFolioError(err)) return err;
  if (err instanceof ZodError) return zodToFolio(err);
  const fe = err as FastifyError;
  const mapped = fe?.code ? FRAMEWORK_CODES[fe.code] : undefined;
  if (mapped) return new FolioError(mapped, fe.message);
  // Busboy reports a cut or garbled multipart body with plain Errors and no code.
  if (fe?.message && /multipart|boundary|unexpected end of form|malformed part header/i.test(fe.message)) {
    return new FolioError('FOLIO_MULTIPART_MALFORMED', `Malformed multipart body: ${fe.message}`);
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new FolioError('FOLIO_INVALID_OPTIONS', fe.message);
  }
  if (isDependencyDown(err))
    return new FolioError('FOLIO_UNAVAILABLE', 'A dependency (NATS or the object store) is unavailable; try again', undefined, { cause: err });
  return new FolioError('FOLIO_INTERNAL', 'Internal error', undefined, { cause: err });
}

export function installErrorHandling(app: FastifyInstance, metrics: Metrics, audit?: Audit, drainLimits?: DrainLimits) {
  app.setErrorHandler((err, req, reply) => {
    const folio = toHttpError(err);
    if (folio.status >= 500) req.log.error({ err }, 'request failed');
    else {
      metrics.uploadsRejected.inc({ code: folio.code });
      // The client gets a stable message; what actually broke stays in the log.
      if (folio.cause) req.log.info({ err: folio.cause, code: folio.code }, 'request refused');
    }
    if (folio.code === 'FOLIO_RATE_LIMITED' && !reply.getHeader('retry-after')) reply.header('retry-after', '1');
    if (folio.code === 'FOLIO_QUOTA_EXCEEDED') quotaHeaders(folio, reply);
    if (folio.code === 'FOLIO_QUOTA_EXCEEDED' || (folio.code === 'FOLIO_TOO_MANY_PAGES' && folio.details?.quota)) {
      audit?.record('quota.refused', {
        tenant: req.tenant || undefined,
        keyId: req.keyId,
        method: req.method,
        route: req.routeOptions.url,
        reason: String(folio.details?.quota ?? ''),
      });
    }
    if (folio.code === 'FOLIO_UNAVAILABLE') reply.header('retry-after', '5');
    if (folio.code === 'FOLIO_OVERLOADED') reply.header('retry-after', String(Math.max(1, Number(folio.details?.retryAfterS ?? 1))));
    // A request refused before its body was read (401, 429, 503, …): the rest of the body is read
    // and discarded, bounded, so a client still sending gets this answer and not a reset
    // (refusal-drain.ts). An upload refused half-way must not keep the socket reading the rest of
    // a huge body: that connection is closed.
    const drained = !!drainLimits && bodyUntouched(req.raw) && drainRefusedBody(req.raw, drainLimits);
    if (!drained && (folio.code === 'FOLIO_UPLOAD_TOO_LARGE' || folio.code === 'FOLIO_REQUEST_TIMEOUT' || !req.raw.complete))
      reply.header('connection', 'close');
    reply.status(folio.status).send({ error: folio.toJSON() });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: { code: 'FOLIO_ROUTE_NOT_FOUND', message: `No route ${req.method} ${req.url}` } });
  });
}

/** A quota refusal says which quota, how much is left and when to come back, as a rate limit does. */
function quotaHeaders(folio: FolioError, reply: FastifyReply) {
  const d = (folio.details ?? {}) as { limit?: number; used?: number; retryAfterS?: number; resetS?: number; quota?: string };
  reply.header('retry-after', String(Math.max(1, d.retryAfterS ?? 1)));
  if (typeof d.limit === 'number') {
    reply.header('ratelimit-limit', String(d.limit));
    reply.header('ratelimit-remaining', String(Math.max(0, d.limit - (d.used ?? d.limit))));
    reply.header('ratelimit-reset', String(Math.max(1, d.resetS ?? d.retryAfterS ?? 1)));
    reply.header('ratelimit-policy', `${d.limit};w=${d.quota === 'pages_per_day' ? 86400 : 1}`);
  }
}
