/**
 * The HTTP and event contract as zod schemas: the one source the OpenAPI document
 * (services/ingest/openapi.ts), the published JSON Schemas (shared/json-schemas/, made by
 * tools/json-schemas.ts) and the typed client (client/) are built from. Pipeline messages stay in
 * messages.ts; this file adds what clients see: the public job view, links, errors, events.
 */
import { z } from 'zod';
import { ErrorTable } from '../operations/errors.ts';
import { BBox, DocumentResult, JobEvent, JobOptions, JobState, JobStatus, PageSummary, SourceInfo, WebhookDelivery } from '../bus/messages.ts';

export const ErrorCodeSchema = z.enum(Object.keys(ErrorTable) as [keyof typeof ErrorTable, ...Array<keyof typeof ErrorTable>]);

/** Every HTTP error, on every route: match on `code`, which is stable. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: ErrorCodeSchema,
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: 'Error', description: 'The error envelope of every HTTP error; `code` is stable (see docs/http-api.md, "Errors")' });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const JobLinks = z
  .object({
    self: z.string(),
    result: z.string(),
    markdown: z.string(),
    json: z.string(),
    events: z.string(),
    /** `{page}` stands for a page number (1-based, in the job's own numbering). */
    pageImage: z.string(),
  })
  .meta({ id: 'JobLinks', description: 'Relative URLs of everything a job has; results are there once the job is completed or partial' });

export const Progress = z
  .object({
    /** Pages finished (done + failed) per second since the job was accepted. */
    pagesPerSecond: z.number().nonnegative().optional(),
    /** Estimated seconds until the last page is finished; absent until a page has finished, 0 at the end. */
    etaSeconds: z.number().nonnegative().optional(),
  })
  .meta({ id: 'Progress' });

/** A job as its owner sees it over HTTP: no internal object keys, links instead. */
export const JobView = JobStatus.omit({ result: true })
  .extend({
    links: JobLinks,
    progress: Progress.optional(),
    /** True when an identical earlier upload answered (the result cache). */
    cached: z.boolean().optional(),
  })
  .meta({ id: 'Job', description: 'A job: state, page counts, per-page engines and errors, webhook deliveries, links' });
export type JobView = z.infer<typeof JobView>;

/** 202 of POST /v1/jobs (one file). */
export const JobAccepted = z
  .object({
    id: z.string(),
    status: JobState,
    pages: JobStatus.shape.pages,
    links: JobLinks,
    cached: z.boolean().optional(),
    batch: z.string().optional(),
  })
  .meta({ id: 'JobAccepted' });
export type JobAccepted = z.infer<typeof JobAccepted>;

// --- Batches (issue 10): several documents in one POST /v1/jobs ---
/** Where a document was in the request (0-based, files and URLs in the order sent) and its name (file name or URL). */
const BatchPosition = { index: z.number().int().nonnegative(), name: z.string() };

/** 202 (every document accepted) or 207 (some refused) of POST /v1/jobs with several documents: a job each, under one batch id. */
export const BatchAccepted = z
  .object({
    batch: z.string(),
    /** Accepted documents, in request order; each job's status carries the batch id too (a cached answer is the earlier job, under its own). */
    jobs: z.array(JobAccepted.extend(BatchPosition)),
    /** Refused documents, in request order, each with the error a one-document request would have answered. */
    errors: z.array(z.object({ ...BatchPosition, error: ErrorBody.shape.error })),
  })
  .meta({
    id: 'BatchAccepted',
    description:
      "A batch: 202 when every document was accepted, 207 when some were refused (see `errors`); when none is, the answer is the first error, with every document's in `details.errors`",
  });
export type BatchAccepted = z.infer<typeof BatchAccepted>;

/** The JSON body of POST /v1/jobs for documents to fetch: `url` or `urls`, plus the options. */
export const UrlSubmission = JobOptions.extend({
  url: z.url().optional().meta({ description: 'An http(s) URL of the document; fetched by the server (private addresses refused)' }),
  urls: z.array(z.url()).optional().meta({ description: 'Several URLs: a batch, a job each' }),
  webhook: z.url().optional().meta({ description: 'Callback URL for each job’s end (Standard Webhooks signature)' }),
}).meta({ id: 'UrlSubmission' });
// --- end batches ---

/** 200 of POST /v1/ocr when the job ended within the wait. */
export const SyncResult = JobView.extend({ markdown: z.string().optional() }).meta({ id: 'SyncResult' });

export const CompatResult = z
  .object({
    task_id: z.string(),
    status: z.enum(['pending', 'completed', 'failed']),
    markdown: z.string().optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .meta({ id: 'CompatResult', description: "The seed design's three-state answer" });

export const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
export const Ready = z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.string()) }).meta({ id: 'Ready' });

export const WebhookSecret = z
  .object({ secret: z.string().regex(/^whsec_/), algorithm: z.literal('HMAC-SHA256') })
  .meta({ id: 'WebhookSecret', description: 'This tenant’s Standard Webhooks signing secret' });

/** Multipart upload form: the file plus the options as fields. */
export const UploadForm = JobOptions.extend({
  file: z.string().optional().meta({
    format: 'binary',
    description: 'The document (PDF, PNG, JPEG, WebP, TIFF, GIF, BMP; Office files when LibreOffice is installed); repeat the part for a batch (POST /v1/jobs)',
  }),
  url: z.url().optional().meta({ description: 'Instead of (or beside) a file: an http(s) URL the server fetches; repeat for a batch (POST /v1/jobs)' }),
  webhook: z.url().optional().meta({ description: 'Callback URL for this job’s end (Standard Webhooks signature)' }),
}).meta({ id: 'UploadForm' });

/** document.json: pages with their blocks (boxes in page-image pixels) and Markdown. */
export const DocumentView = DocumentResult.meta({ id: 'Document' });

// --- Result formats (issue 9): tables as data, retrieval chunks ---
/** One table of a document, without its cells (services/ingest/formats/tables.ts TableInfo). */
const TableInfoSchema = z.object({
  /** 1-based, in document order: the `{n}` of /v1/jobs/{id}/tables/{n}. */
  n: z.number().int().min(1),
  page: z.number().int().min(1),
  bbox: BBox.meta({ description: '[x1, y1, x2, y2] in page-image pixels' }),
  caption: z.string().optional(),
  shape: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]).meta({ description: 'Data rows × columns (header rows not counted)' }),
  columns: z.array(z.string()),
  headerRows: z.number().int().nonnegative(),
});

/** 200 of GET /v1/jobs/{id}/tables. */
export const TableList = z
  .object({
    jobId: z.string(),
    tables: z.array(
      TableInfoSchema.extend({
        links: z.object({ csv: z.string(), json: z.string(), parquet: z.string() }).meta({ description: 'The table as CSV, JSON and Parquet' }),
      }),
    ),
  })
  .meta({ id: 'TableList', description: 'The tables of a document: page, box, caption, shape and columns of each' });
export type TableList = z.infer<typeof TableList>;

/** 200 of GET /v1/jobs/{id}/tables/{n}?format=json: columns and rows as arrays (order kept, any column name). */
export const TableData = TableInfoSchema.extend({ rows: z.array(z.array(z.string())) }).meta({
  id: 'TableData',
  description: 'One table: its columns and data rows (cells as strings)',
});

/** 200 of GET /v1/jobs/{id}/result?format=chunks (services/ingest/formats/chunks.ts). */
export const ChunkList = z
  .object({
    jobId: z.string(),
    maxTokens: z.number().int(),
    overlap: z.number().int(),
    chunks: z.array(
      z.object({
        index: z.number().int().nonnegative(),
        text: z.string(),
        headings: z.array(z.string()).meta({ description: 'Titles above the chunk, outermost first' }),
        pages: z.array(z.number().int().min(1)),
        boxes: z.array(z.object({ page: z.number().int().min(1), bbox: BBox })),
        tokens: z.number().int().nonnegative(),
      }),
    ),
  })
  .meta({ id: 'ChunkList', description: 'Retrieval chunks of a document, each with its headings, pages and boxes' });
export type ChunkList = z.infer<typeof ChunkList>;
// --- end result formats ---

/** The body of a webhook delivery (Standard Webhooks shape: type, timestamp, data). */
export const WebhookPayload = z
  .object({
    type: z.enum(['job.completed', 'job.partial', 'job.failed', 'job.cancelled']),
    timestamp: z.string(),
    data: JobView,
  })
  .meta({ id: 'WebhookPayload', description: 'Signed with the headers webhook-id, webhook-timestamp, webhook-signature (v1, HMAC-SHA256)' });
export type WebhookPayload = z.infer<typeof WebhookPayload>;

// ---- NATS payloads (published as JSON Schemas, shared/json-schemas/) ----

/** `folio.events.<tenant>.<job>.progress`: throttled, only while pages remain (the last page's news is the completion event). */
export const ProgressEvent = z
  .object({
    v: z.literal(1),
    jobId: z.string(),
    tenant: z.string(),
    kind: z.literal('progress'),
    pages: JobStatus.shape.pages,
    at: z.string(),
    etaSeconds: z.number().nonnegative().optional(),
  })
  .meta({ id: 'ProgressEvent' });
export type ProgressEvent = z.infer<typeof ProgressEvent>;

/** `folio.events.<tenant>.<job>.<completed|partial|failed|cancelled>`: once per job (a cached answer publishes one too). */
export const JobEventPayload = JobEvent.meta({ id: 'JobEvent' });
/** The KV record `folio_jobs[<job>]`. */
export const JobRecord = JobStatus.meta({ id: 'JobRecord' });

/** Ids of schemas that describe NATS payloads, not HTTP bodies (published in shared/json-schemas/). */
export const NATS_SCHEMA_IDS = ['ProgressEvent', 'JobEvent', 'JobRecord'];

export { JobStatus, JobOptions, JobState, PageSummary, SourceInfo, WebhookDelivery };
