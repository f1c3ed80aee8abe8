/**
 * The result in the forms users ask for besides Markdown and layout JSON: tables as data
 * (CSV/JSON/Parquet), one HTML document, chunks for retrieval, and the layout JSON's schema.
 * Each is rendered on request from document.json by a pure renderer in shared/formats/. Every job
 * route looks the job up with the request's tenant (requireJob): another tenant's job is a 404.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { getJson } from '../../../shared/blob-json.ts';
import { FolioError } from '../../../shared/errors.ts';
import { DocumentResult, type JobStatus } from '../../../shared/messages.ts';
import { chunkDocument } from '../../../shared/formats/chunks.ts';
import { renderHtml } from '../../../shared/formats/html.ts';
import { LAYOUT_SCHEMA_PATH, layoutJsonSchema } from '../../../shared/formats/layout-schema.ts';
import { TABLE_FORMATS, TABLE_MEDIA_TYPES, exportTable } from '../../../shared/formats/table-export.ts';
import { extractTables, tableInfo } from '../../../shared/formats/tables.ts';
import type { IngestDeps } from '../jobs.ts';
import { zodToFolio } from '../http-errors.ts';
import { requireJob } from './jobs.ts';

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

/** format=html and format=chunks of GET /v1/jobs/:id/result. */
export async function sendRenderedResult(deps: IngestDeps, job: JobStatus, format: 'html' | 'chunks', query: unknown, reply: FastifyReply) {
  const doc = await loadDocument(deps, job);
  if (format === 'html') {
    // The document is sanitised; the policy is a second line: no script, images only from here.
    reply.header('content-security-policy', "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'");
    reply.type('text/html; charset=utf-8');
    return reply.send(renderHtml(doc));
  }
  const q = ChunkQuery.safeParse(query ?? {});
  if (!q.success) throw zodToFolio(q.error);
  return { jobId: job.id, maxTokens: q.data.maxTokens, overlap: q.data.overlap, chunks: chunkDocument(doc, q.data) };
}

export function registerFormatRoutes(app: FastifyInstance, deps: IngestDeps) {
  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/tables',
    { schema: { summary: 'The tables of a document: page, box, caption, shape and columns of each', tags: ['jobs'] } },
    async (req) => {
      const job = await requireJob(deps, req);
      const tables = extractTables(await loadDocument(deps, job));
      return { jobId: job.id, tables: tables.map((t) => ({ ...tableInfo(t), links: tableLinks(job.id, t.n) })) };
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
      if (!table) throw new FolioError('FOLIO_TABLE_NOT_FOUND', `Job ${job.id} has ${tables.length} table(s); no table "${req.params.n}"`, { tables: tables.length });
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
  return Object.fromEntries(TABLE_FORMATS.map((f) => [f, `/v1/jobs/${id}/tables/${n}?format=${f}`]));
}
