/**
 * The OpenAPI 3.1 document, generated from the zod schemas of shared/document/api-schemas.ts. The route
 * table below says, for every operation, its parameters, body and every response with its schema;
 * the schemas themselves are never written twice. Routes are not validated by Fastify from these
 * (each route parses its own input with the same zod schemas, so errors keep our envelope).
 * A route added elsewhere without an entry here still appears, with what its Fastify `schema`
 * says plus the common error responses (see withFallbacks), so the document is never missing one.
 */
import { z } from 'zod';
import {
  BatchAccepted,
  CompatResult,
  ErrorBody,
  Health,
  JobAccepted,
  JobView,
  ProgressEvent,
  Ready,
  SyncResult,
  UploadForm,
  WebhookSecret,
  DocumentView,
  NATS_SCHEMA_IDS,
  WebhookPayload,
  UrlSubmission,
  TableList,
  TableData,
  ChunkList,
} from '../../shared/document/index.ts';
import { ErrorTable, type ErrorCode } from '../../shared/operations/index.ts';
import { LAYOUT_SCHEMA_PATH } from './formats/layout-schema.ts';

type Json = Record<string, unknown>;
const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const idOf = (s: z.ZodType) => (z.globalRegistry.get(s) as { id?: string } | undefined)?.id ?? '';

interface Response {
  description: string;
  /** A registered schema (JSON body), or explicit content. */
  json?: z.ZodType;
  content?: Json;
  headers?: Json;
}

export interface Operation {
  method: 'get' | 'post' | 'delete';
  /** OpenAPI path (`{id}`); the Fastify path is the same with `:id`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: 'jobs' | 'compat' | 'ops' | 'webhooks' | 'schemas';
  /** Open routes need no key (probes, metrics). */
  open?: boolean;
  params?: Record<string, { schema: Json; description: string }>;
  query?: Record<string, { schema: Json; description: string }>;
  upload?: boolean;
  responses: Record<string, Response>;
  /** Error codes this route answers, beyond the common ones. */
  errors?: ErrorCode[];
}

const jobId = { id: { schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' }, description: 'The job id' } };
const LOCATION = { Location: { description: 'The job’s status URL', schema: { type: 'string' } } };
/** Sent on every rate-limited route's answer when the rate limit is on, and on a tenant quota's 429 (IETF RateLimit header fields). */
const RATE_HEADERS = {
  'RateLimit-Limit': { schema: { type: 'integer', minimum: 0 }, description: 'Requests allowed per window (a quota’s limit on a quota refusal)' },
  'RateLimit-Remaining': { schema: { type: 'integer', minimum: 0 }, description: 'Requests left in this window' },
  'RateLimit-Reset': { schema: { type: 'integer', minimum: 0 }, description: 'Seconds until the window resets' },
  'RateLimit-Policy': { schema: { type: 'string' }, description: '`<limit>;w=<window seconds>`' },
};
const RETRY_AFTER = { 'Retry-After': { required: true, schema: { type: 'integer', minimum: 1 }, description: 'Seconds to wait before trying again' } };
const UPLOAD_ERRORS: ErrorCode[] = [
  'FOLIO_INVALID_OPTIONS',
  'FOLIO_MULTIPART_MALFORMED',
  'FOLIO_FILE_MISSING',
  'FOLIO_FILE_EMPTY',
  'FOLIO_FORBIDDEN_ORIGIN',
  'FOLIO_REQUEST_TIMEOUT',
  'FOLIO_UPLOAD_TOO_LARGE',
  'FOLIO_UNSUPPORTED_MEDIA_TYPE',
  'FOLIO_PDF_CORRUPT',
  'FOLIO_QUOTA_EXCEEDED',
  // Issue 10's inputs: documents per request, URLs to fetch, Office conversion.
  'FOLIO_TOO_MANY_FILES',
  'FOLIO_URL_INVALID',
  'FOLIO_URL_FORBIDDEN',
  'FOLIO_FETCH_FAILED',
  'FOLIO_FETCH_TIMEOUT',
  'FOLIO_CONVERTER_MISSING',
  'FOLIO_CONVERSION_FAILED',
  // The document itself, probed before the 202 (shared/render/source-probe.ts, in a sandboxed renderer); a quota counted in pages.
  'FOLIO_PDF_ENCRYPTED',
  'FOLIO_IMAGE_CORRUPT',
  'FOLIO_IMAGE_TOO_LARGE',
  'FOLIO_RENDER_TIMEOUT',
  'FOLIO_RENDER_CRASHED',
  'FOLIO_TOO_MANY_PAGES',
  'FOLIO_PAGE_RANGE_EMPTY',
];

/** The upload form's input side (strings accepted for numbers), inlined: it is registered under an id, which would make it a bare $ref. */
function uploadFormSchema(): Json {
  const s = z.toJSONSchema(UploadForm, { io: 'input', unrepresentable: 'any' }) as { $defs?: Record<string, Json> } & Json;
  return s.$defs?.UploadForm ?? s;
}

/** A request body's input side (strings accepted for numbers), inlined like the upload form. */
function inputSchema(schema: z.ZodType, id: string): Json {
  const s = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { $defs?: Record<string, Json> } & Json;
  return s.$defs?.[id] ?? s;
}

/** The query form of the upload options (raw-body uploads), from the same zod schema as the multipart fields. */
function optionQuery(): Record<string, { schema: Json; description: string }> {
  const form = uploadFormSchema() as { properties: Record<string, Json> };
  const out: Record<string, { schema: Json; description: string }> = {};
  for (const [name, schema] of Object.entries(form.properties)) {
    // The document itself travels in the body (a file part, a url field, or the JSON body).
    if (name === 'file' || name === 'url') continue;
    out[name] = { schema, description: (schema.description as string | undefined) ?? `Job option "${name}" (see docs/http-api.md)` };
  }
  out.filename = { schema: { type: 'string' }, description: 'The document’s name (raw-body uploads only)' };
  return out;
}

export const OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/v1/jobs',
    operationId: 'submitJob',
    tag: 'jobs',
    upload: true,
    summary: 'Submit documents for asynchronous OCR',
    description:
      'Multipart (`file` parts and/or `url` fields, options as fields), a JSON body (`url` or `urls`, options as members), or the raw body (options in the query). One document answers a JobAccepted; several make a batch (at most the configured files-per-request limit), a job each under one batch id, each accepted or refused on its own: 202 when all were accepted, 207 when some were refused (their errors listed), the first error when none was. Office documents are converted to PDF first when LibreOffice is installed.',
    responses: {
      202: {
        description: 'Accepted: one job (one document), or a batch when several documents were sent',
        content: { 'application/json': { schema: { oneOf: [ref('JobAccepted'), ref('BatchAccepted')] } } },
        headers: LOCATION,
      },
      207: { description: 'A batch of which some documents were refused: `jobs` has the accepted ones, `errors` the others', json: BatchAccepted },
    },
    errors: UPLOAD_ERRORS,
  },
  {
    method: 'post',
    path: '/v1/ocr',
    operationId: 'ocrSync',
    tag: 'jobs',
    upload: true,
    summary: 'OCR a document and wait for the Markdown',
    description: '`Accept: text/markdown` answers with the Markdown alone. 202 with the job when it takes longer than the wait.',
    query: { wait: { schema: { type: 'integer', minimum: 0, maximum: 3600 }, description: 'Seconds to wait (at most the server’s sync timeout)' } },
    responses: {
      200: {
        description: 'The job ended within the wait',
        content: { 'application/json': { schema: ref('SyncResult') }, 'text/markdown': { schema: { type: 'string' } } },
      },
      202: { description: 'Still running after the wait', json: JobAccepted, headers: LOCATION },
    },
    errors: UPLOAD_ERRORS,
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}',
    operationId: 'getJob',
    tag: 'jobs',
    summary: 'Job status, progress (with ETA), per-page details, webhook deliveries and links',
    params: jobId,
    responses: { 200: { description: 'The job', json: JobView } },
    errors: ['FOLIO_JOB_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}/result',
    operationId: 'getResult',
    tag: 'jobs',
    summary: 'The result: Markdown (default), the layout JSON, HTML, chunks, a searchable PDF, hOCR or ALTO',
    description:
      'pdf: the page images with the text invisible over them, each word at its box (like OCRmyPDF), so viewers show the scan and search, copy and text extraction read the text in place; hocr: hOCR 1.2 XHTML (ocr_page, ocr_carea, ocr_par, ocr_line, ocrx_word with bbox titles in page-image pixels); alto: ALTO 4.4 XML (pixel units). Line boxes are the engine’s where it reports lines (CPU engine, PDF text layers); blocks from vision models are wrapped into lines within their box. Word boxes are estimated within their line.',
    params: jobId,
    query: {
      format: {
        schema: { type: 'string', enum: ['markdown', 'json', 'html', 'chunks', 'pdf', 'hocr', 'alto'], default: 'markdown' },
        description:
          'markdown: document.md; json: document.json; html: one HTML document; chunks: retrieval chunks (JSON); pdf: searchable PDF; hocr: hOCR XHTML; alto: ALTO v4 XML',
      },
      maxTokens: { schema: { type: 'integer', minimum: 16, maximum: 8192, default: 512 }, description: 'format=chunks: the most tokens in a chunk' },
      overlap: { schema: { type: 'integer', minimum: 0, maximum: 4096, default: 64 }, description: 'format=chunks: tokens repeated from the previous chunk' },
    },
    responses: {
      200: {
        description: 'The document in the format asked for',
        content: {
          'text/markdown': { schema: { type: 'string' } },
          'application/json': {
            schema: {
              anyOf: [ref(idOf(DocumentView)), ref(idOf(ChunkList))],
              description: 'format=json: the layout JSON (Document); format=chunks: ChunkList',
            },
          },
          'text/html': { schema: { type: 'string' } },
          'application/pdf': { schema: { type: 'string', format: 'binary' } },
          'application/xhtml+xml': { schema: { type: 'string' } },
          'application/xml': { schema: { type: 'string' } },
        },
      },
    },
    errors: ['FOLIO_JOB_NOT_FOUND', 'FOLIO_RESULT_NOT_READY', 'FOLIO_INVALID_OPTIONS'],
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}/images/{name}',
    operationId: 'getFigure',
    tag: 'jobs',
    summary: 'A figure cropped from a page, as the Markdown links it',
    params: { ...jobId, name: { schema: { type: 'string', pattern: '^\\d+_\\d+\\.jpg$' }, description: '`<page>_<k>.jpg`' } },
    responses: { 200: { description: 'The figure', content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } } } } },
    errors: ['FOLIO_JOB_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}/pages/{page}/image',
    operationId: 'getPageImage',
    tag: 'jobs',
    summary: 'A page as the OCR engine saw it (layout boxes are in its pixels)',
    params: { ...jobId, page: { schema: { type: 'integer', minimum: 1 }, description: 'Page number in the job’s numbering' } },
    responses: { 200: { description: 'The page image', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } } },
    errors: ['FOLIO_JOB_NOT_FOUND', 'FOLIO_INVALID_OPTIONS'],
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}/events',
    operationId: 'streamJobEvents',
    tag: 'jobs',
    summary: 'Server-Sent Events until the job ends',
    description: 'Each change is `event: status` with a Job (progress and ETA included) as `data`; the stream ends after the terminal one.',
    params: jobId,
    // OpenAPI 3.1 has no schema for an event's data (3.2's itemSchema): `x-event-data` names it, and the contract test validates each event against it.
    responses: {
      200: {
        description: 'An event stream; each `data:` is a Job',
        content: {
          'text/event-stream': {
            schema: { type: 'string', description: 'event: status, data: <Job JSON> (see the Job schema); `: keep-alive` comments every 15 s' },
            'x-event-data': ref(idOf(JobView)),
          },
        },
      },
    },
    errors: ['FOLIO_JOB_NOT_FOUND', 'FOLIO_QUOTA_EXCEEDED'],
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}/tables',
    operationId: 'listTables',
    tag: 'jobs',
    summary: 'The tables of a document: page, box, caption, shape and columns of each, with links to each as data',
    params: jobId,
    responses: { 200: { description: 'The tables (none: an empty list)', json: TableList } },
    errors: ['FOLIO_JOB_NOT_FOUND', 'FOLIO_RESULT_NOT_READY'],
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}/tables/{n}',
    operationId: 'getTable',
    tag: 'jobs',
    summary: 'One table as data: CSV (default), JSON or Parquet; header row detected, spans expanded',
    params: { ...jobId, n: { schema: { type: 'integer', minimum: 1 }, description: 'The table’s number (`n` in the list), 1-based in document order' } },
    query: {
      format: {
        schema: { type: 'string', enum: ['csv', 'json', 'parquet'], default: 'csv' },
        description:
          'csv: RFC 4180 with a header line; json: TableData; parquet: Apache Parquet, every column a string (csv and parquet are sent as attachments)',
      },
    },
    responses: {
      200: {
        description: 'The table in the format asked for',
        content: {
          'text/csv': { schema: { type: 'string' } },
          'application/json': { schema: ref(idOf(TableData)) },
          'application/vnd.apache.parquet': { schema: { type: 'string', format: 'binary' } },
        },
        headers: { 'Content-Disposition': { schema: { type: 'string' }, description: 'csv and parquet: `attachment; filename="<job>-table-<n>.<format>"`' } },
      },
    },
    errors: ['FOLIO_JOB_NOT_FOUND', 'FOLIO_TABLE_NOT_FOUND', 'FOLIO_RESULT_NOT_READY', 'FOLIO_INVALID_OPTIONS'],
  },
  {
    method: 'get',
    path: LAYOUT_SCHEMA_PATH,
    operationId: 'getLayoutSchema',
    tag: 'schemas',
    summary: 'The JSON Schema (draft 2020-12) of the layout JSON, document.json, version 1',
    responses: {
      200: {
        description: 'A JSON Schema',
        content: {
          'application/schema+json': {
            schema: {
              type: 'object',
              required: ['$schema', '$id'],
              properties: { $schema: { const: 'https://json-schema.org/draft/2020-12/schema' }, $id: { type: 'string' } },
            },
          },
        },
      },
    },
  },
  {
    method: 'delete',
    path: '/v1/jobs/{id}',
    operationId: 'cancelJob',
    tag: 'jobs',
    summary: 'Cancel a running job (202), or delete a finished one and its results (204)',
    params: jobId,
    responses: { 202: { description: 'Cancelled; every stage drops its work', json: JobView }, 204: { description: 'Deleted' } },
    errors: ['FOLIO_JOB_NOT_FOUND', 'FOLIO_FORBIDDEN_ORIGIN'],
  },
  {
    method: 'get',
    path: '/v1/webhook-secret',
    operationId: 'getWebhookSecret',
    tag: 'webhooks',
    summary: 'This tenant’s webhook signing secret (Standard Webhooks `whsec_…`)',
    responses: { 200: { description: 'The secret', json: WebhookSecret } },
    errors: ['FOLIO_UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/ocr',
    operationId: 'compatOcr',
    tag: 'compat',
    upload: true,
    summary: 'Seed-compatible OCR: an image answers with its Markdown, a PDF with a task id',
    responses: { 200: { description: 'The Markdown', json: CompatResult }, 202: { description: 'Pending (a PDF, or past the wait)', json: CompatResult } },
    errors: UPLOAD_ERRORS,
  },
  {
    method: 'get',
    path: '/result/{task_id}',
    operationId: 'compatResult',
    tag: 'compat',
    summary: 'Seed-compatible result polling',
    params: { task_id: { schema: { type: 'string' }, description: 'The task (job) id' } },
    responses: { 200: { description: 'pending, completed (with markdown) or failed', json: CompatResult } },
    errors: ['FOLIO_JOB_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'healthz',
    tag: 'ops',
    open: true,
    summary: 'Liveness',
    responses: { 200: { description: 'Alive', json: Health } },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'readyz',
    tag: 'ops',
    open: true,
    summary: 'Readiness: NATS and the object store answer',
    responses: {
      200: { description: 'Ready', json: Ready },
      503: { description: 'Not ready (`details` has each check)', json: ErrorBody, headers: RETRY_AFTER },
    },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'ops',
    open: true,
    summary: 'Prometheus metrics',
    responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
  },
];

function errorResponse(codes: ErrorCode[]): Json {
  return {
    description: `Error (${codes.join(', ')})`,
    content: {
      'application/json': {
        schema: ref('Error'),
        examples: Object.fromEntries(codes.map((c) => [c, { value: { error: { code: c, message: ErrorTable[c].message } } }])),
      },
    },
  };
}

/** Groups error codes by HTTP status: each status one response, listing its codes. */
function errorResponses(op: Pick<Operation, 'open' | 'errors' | 'method' | 'params'>): Record<string, Json> {
  const codes = new Set<ErrorCode>(op.errors ?? []);
  // A path parameter that does not decode (`%zz`) is refused before the route runs (app.ts frameworkErrors).
  if (op.params) codes.add('FOLIO_INVALID_OPTIONS');
  if (!op.open) for (const c of ['FOLIO_UNAUTHORIZED', 'FOLIO_RATE_LIMITED', 'FOLIO_INTERNAL', 'FOLIO_UNAVAILABLE'] as const) codes.add(c);
  if (op.method !== 'get' && !op.open) codes.add('FOLIO_FORBIDDEN_ORIGIN');
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of codes) byStatus.set(ErrorTable[c].status, [...(byStatus.get(ErrorTable[c].status) ?? []), c]);
  const out: Record<string, Json> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const r = errorResponse(list);
    if (status === 429) r.headers = { ...RETRY_AFTER, ...RATE_HEADERS };
    if (status === 503) r.headers = RETRY_AFTER;
    out[String(status)] = r;
  }
  return out;
}

function operationObject(op: Operation): Json {
  const parameters = [
    ...Object.entries(op.params ?? {}).map(([name, p]) => ({ name, in: 'path', required: true, ...p })),
    ...Object.entries(op.upload ? { ...optionQuery(), ...(op.query ?? {}) } : (op.query ?? {})).map(([name, p]) => ({
      name,
      in: 'query',
      required: false,
      ...p,
    })),
  ];
  const responses: Json = {};
  for (const [code, r] of Object.entries(op.responses)) {
    const content = r.json ? { 'application/json': { schema: ref(idOf(r.json)) } } : r.content;
    // Rate-limited routes (all but probes and metrics) say where the client stands on every answer.
    const headers = { ...(op.open ? {} : RATE_HEADERS), ...r.headers };
    responses[code] = { description: r.description, ...(content ? { content } : {}), ...(Object.keys(headers).length ? { headers } : {}) };
  }
  Object.assign(responses, errorResponses(op));
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    ...(parameters.length ? { parameters } : {}),
    ...(op.upload
      ? {
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': { schema: ref('UploadForm'), encoding: { file: { contentType: 'application/octet-stream' } } },
              // The raw document; options in the query.
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
              // Documents to fetch by URL, the options beside them.
              'application/json': { schema: ref('UrlSubmission') },
            },
          },
        }
      : {}),
    security: op.open ? [] : [{ bearerAuth: [] }, { apiKeyHeader: [] }],
    responses,
  };
}

/** Component schemas: every schema with a `.meta({id})`, each once, referencing each other. */
function componentSchemas(): Record<string, Json> {
  // Touch the imports so their registrations exist before the registry is read.
  void [
    BatchAccepted,
    CompatResult,
    ErrorBody,
    Health,
    JobAccepted,
    JobView,
    ProgressEvent,
    Ready,
    SyncResult,
    WebhookSecret,
    DocumentView,
    TableList,
    TableData,
    ChunkList,
  ];
  const out = z.toJSONSchema(z.globalRegistry, { io: 'output', unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` }) as {
    schemas: Record<string, Json>;
  };
  const schemas: Record<string, Json> = {};
  for (const [id, s] of Object.entries(out.schemas)) {
    if (NATS_SCHEMA_IDS.includes(id)) continue;
    const { $schema: _s, $id: _i, ...rest } = s;
    schemas[id] = rest;
  }
  // The upload form is what clients send: its input side (strings accepted for numbers).
  schemas.UploadForm = uploadFormSchema();
  schemas.UrlSubmission = inputSchema(UrlSubmission, 'UrlSubmission');
  return schemas;
}

export function buildOpenApi(version = '1'): Json {
  const paths: Record<string, Json> = {};
  for (const op of OPERATIONS) (paths[op.path] ??= {})[op.method] = operationObject(op);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Folio OCR API',
      version,
      description:
        'Images and PDFs in; Markdown and layout JSON out. Every error is `{error: {code, message, details?}}` with a stable code. NATS event payloads: see docs/nats-api.md.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'jobs', description: 'Submit documents, follow them, read results' },
      { name: 'webhooks', description: 'Signed callbacks when a job ends' },
      { name: 'compat', description: 'The seed design’s endpoints' },
      { name: 'ops', description: 'Probes and metrics' },
      { name: 'schemas', description: 'Published JSON Schemas of the results' },
    ],
    security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
    paths,
    webhooks: {
      jobEnded: {
        post: {
          operationId: 'jobEnded',
          summary: 'A job ended: sent to its `webhook` URL (or the tenant’s default), retried with backoff until a 2xx',
          description:
            'Headers `webhook-id` (the same on every retry), `webhook-timestamp` (Unix seconds), `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` keyed with the tenant’s secret (GET /v1/webhook-secret).',
          security: [],
          requestBody: { required: true, content: { 'application/json': { schema: ref(idOf(WebhookPayload)) } } },
          responses: { 200: { description: 'Any 2xx ends the retries' }, 400: { description: 'Any other answer (or none within the timeout) is retried' } },
        },
      },
    },
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key (configured by the operator) as `Authorization: Bearer <key>`' },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'The same key in `x-api-key`' },
      },
      schemas: componentSchemas(),
    },
  };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/**
 * Adds what @fastify/swagger found and the table lacks (a route another module registered):
 * its summary and tags, path parameters, the common errors and an operation id, so the document
 * stays complete and valid. Such an operation should get a table entry for its exact schemas.
 */
export function withFallbacks(doc: Json, discovered: { paths?: Record<string, Record<string, Json>> }): Json {
  const paths = doc.paths as Record<string, Record<string, Json>>;
  for (const [p, item] of Object.entries(discovered.paths ?? {})) {
    if (p === '/' || p.startsWith('/docs')) continue;
    for (const [method, found] of Object.entries(item)) {
      if (!METHODS.includes(method) || paths[p]?.[method]) continue;
      const params = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
      const op = {
        // A contract test fails on this mark: the route needs a table entry with its real responses.
        'x-folio-undocumented': true,
        operationId: `${method}${p.replace(/\{([^}]+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
        summary: (found.summary as string | undefined) ?? `${method.toUpperCase()} ${p}`,
        tags: (found.tags as string[] | undefined) ?? ['jobs'],
        ...(params.length ? { parameters: params } : {}),
        security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
        responses: {
          200: { description: 'Success' },
          ...errorResponses({ method: method as Operation['method'], errors: params.length ? ['FOLIO_JOB_NOT_FOUND', 'FOLIO_INVALID_OPTIONS'] : [] }),
        },
      };
      (paths[p] ??= {})[method] = op;
    }
  }
  return doc;
}
