/**
 * The result in the forms users ask for besides Markdown and layout JSON: tables as data
 * (CSV/JSON/Parquet), one HTML document, chunks for retrieval, a searchable PDF (page images with
 * the text invisible over them), hOCR and ALTO XML, and the layout JSON's schema.
 * Each is rendered on request from document.json by a pure renderer in services/ingest/formats/. Every job
 * route looks the job up with the request's tenant (requireJob): another tenant's job is a 404.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { getJson } from '../../../shared/stores/index.ts';
import { FolioError } from '../../../shared/operations/index.ts';
import { DocumentResult, type JobStatus, BlobKeys } from '../../../shared/bus/index.ts';
import { chunkDocument } from '../formats/chunks.ts';
import { forReading, type ChunkList, type TableList } from '../../../shared/document/index.ts';
import { renderHtml } from '../formats/html.ts';
import { renderHocr } from '../formats/hocr.ts';
import { renderAlto } from '../formats/alto.ts';
import { renderPdf } from '../formats/pdf.ts';
import { pdfImageFromPng } from '../formats/pdf-image.ts';
import { LAYOUT_SCHEMA_PATH, layoutJsonSchema } from '../formats/layout-schema.ts';
import { TABLE_FORMATS, TABLE_MEDIA_TYPES, exportTable } from '../formats/table-export.ts';
import { extractTables, tableInfo } from '../formats/tables.ts';
import type { IngestDeps } from '../jobs.ts';
import { zodToFolio } from '../http-errors.ts';
import { requireJob } from '../public-job.ts';

/** Query of /result for format=chunks (markdown/json/html take none). */
export const ChunkQuery = z.object({
  maxTokens: z.coerce.number().int().min(16).max(8192).default(512),
  overlap: z.coerce.number().int().min(0).max(4096).default(64),
});

const TableQuery = z.object({ format: z.enum(TABLE_FORMATS).default('csv') }).strict();

async function loadDocument(deps: IngestDeps, job: JobStatus): Promise<DocumentResult> {
  if (!job.result) throw new FolioError('FOLIO_RESULT_NOT_READY', `Job ${job.id} is ${job.status}; its result is not available`, { status: job.status });
  return getJson(deps.blobs, job.result.json, DocumentResult);
}

/** Formats of GET /v1/jobs/:id/result rendered here from document.json, and their media types. */
export const RENDERED_FORMATS = ['html', 'chunks', 'pdf', 'hocr', 'alto'] as const;
export type RenderedFormat = (typeof RENDERED_FORMATS)[number];
export const RESULT_MEDIA_TYPES = { pdf: 'application/pdf', hocr: 'application/xhtml+xml; charset=utf-8', alto: 'application/xml; charset=utf-8' } as const;

/** The page image for the PDF; null when it is gone (the page keeps its text over a blank page). */
async function pageImage(deps: IngestDeps, jobId: string, page: number) {
  const png = await deps.blobs.get(BlobKeys.pageImage(jobId, page)).catch((err) => {
    if (err?.code === 'FOLIO_BLOB_MISSING') return null;
    throw err;
  });
  return png ? pdfImageFromPng(png) : null;
}

/** The document's name for a download: its source's name without the extension, safe in a header. */
const downloadName = (doc: DocumentResult, ext: string) =>
  `${
    (doc.source.name || doc.jobId)
      .replace(/\.[A-Za-z0-9]{1,5}$/, '')
      .replace(/[^\w.-]+/g, '_')
      .slice(0, 100) || doc.jobId
  }.${ext}`;

/** format=html, chunks, pdf, hocr and alto of GET /v1/jobs/:id/result. */
export async function sendRenderedResult(deps: IngestDeps, job: JobStatus, format: RenderedFormat, query: unknown, reply: FastifyReply) {
  const doc = await loadDocument(deps, job);
  if (format === 'pdf') {
    reply.type(RESULT_MEDIA_TYPES.pdf).header('content-disposition', `inline; filename="${downloadName(doc, 'pdf')}"`);
    return reply.send(Readable.from(renderPdf(doc, (page) => pageImage(deps, job.id, page), { dpi: job.options.dpi, title: doc.source.name })));
  }
  if (format === 'hocr' || format === 'alto') {
    // Nothing active is written (every text escaped); the policy is a second line for browsers that open the XHTML.
    reply.header('content-security-policy', "default-src 'none'; img-src 'self'");
    reply.type(RESULT_MEDIA_TYPES[format]);
    return reply.send(format === 'hocr' ? renderHocr(doc) : renderAlto(doc));
  }
  if (format === 'html') {
    // The document is sanitised; the policy is a second line: no script, images only from here.
    reply.header('content-security-policy', "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'");
    reply.type('text/html; charset=utf-8');
    return reply.send(renderHtml(forReading(doc, job.options.furniture)));
  }
  const q = ChunkQuery.safeParse(query ?? {});
  if (!q.success) throw zodToFolio(q.error);
  return {
    jobId: job.id,
    maxTokens: q.data.maxTokens,
    overlap: q.data.overlap,
    chunks: chunkDocument(forReading(doc, job.options.furniture), q.data),
  } satisfies ChunkList;
}

export function registerFormatRoutes(app: FastifyInstance, deps: IngestDeps) {
  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/tables',
    { schema: { summary: 'The tables of a document: page, box, caption, shape and columns of each', tags: ['jobs'] } },
    async (req) => {
      const job = await requireJob(deps, req);
      const tables = extractTables(await loadDocument(deps, job));
      return { jobId: job.id, tables: tables.map((t) => ({ ...tableInfo(t), links: tableLinks(job.id, t.n) })) } satisfies TableList;
    },
  );

  app.get<{ Params: { id: string; n: string } }>(
    '/v1/jobs/:id/tables/:n',
    { schema: { summary: 'One table as data: ?format=csv (default), json or parquet; header row detected, spans expanded', tags: ['jobs'] } },
    async (req: FastifyRequest<{ Params: { id: string; n: string } }>, reply) => {
      const q = TableQuery.safeParse(req.query ?? {});
      if (!q.success) throw zodToFolio(q.error);
      const job = await requireJob(deps, req);
      const tables = extractTables(await loadDocument(deps, job));
      const n = /^\d{1,6}$/.test(req.params.n) ? Number(req.params.n) : 0;
      const table = tables.find((t) => t.n === n);
      if (!table)
        throw new FolioError('FOLIO_TABLE_NOT_FOUND', `Job ${job.id} has ${tables.length} table(s); no table "${req.params.n}"`, { tables: tables.length });
      reply.type(TABLE_MEDIA_TYPES[q.data.format]);
      if (q.data.format !== 'json') reply.header('content-disposition', `attachment; filename="${job.id}-table-${n}.${q.data.format}"`);
      return reply.send(exportTable(table, q.data.format));
    },
  );

  app.get(LAYOUT_SCHEMA_PATH, { schema: { summary: 'JSON Schema of the layout JSON (document.json), version 1', tags: ['schemas'] } }, async (_req, reply) => {
    reply.type('application/schema+json; charset=utf-8');
    return reply.send(JSON.stringify(layoutJsonSchema(), null, 2));
  });
}

function tableLinks(id: string, n: number) {
  return Object.fromEntries(TABLE_FORMATS.map((f) => [f, `/v1/jobs/${id}/tables/${n}?format=${f}`])) as Record<(typeof TABLE_FORMATS)[number], string>;
}
