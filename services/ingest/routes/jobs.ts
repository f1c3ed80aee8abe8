import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FolioError } from '../../../shared/errors.ts';
import { JobOptions, isTerminal, type JobStatus } from '../../../shared/messages.ts';
import { BlobKeys } from '../../../shared/subjects.ts';
import { cancelJob, deleteJobData, readJob, submitJob, waitForJob, type IngestDeps } from '../jobs.ts';
import { readUpload } from '../request-file.ts';
import { zodToFolio } from '../http-errors.ts';
import { streamEvents } from './events.ts';
import { publicJob } from '../public-job.ts';

const ResultQuery = z.object({ format: z.enum(['markdown', 'json']).default('markdown') }).strict();
const WaitQuery = z.object({ wait: z.coerce.number().int().min(0).max(3600).optional() });

export function parseOptions(fields: Record<string, string>, strict = true): JobOptions {
  const schema = strict ? JobOptions : JobOptions.strip();
  const parsed = schema.safeParse(fields);
  if (!parsed.success) throw zodToFolio(parsed.error);
  return parsed.data;
}

export const links = (id: string) => ({
  self: `/v1/jobs/${id}`,
  result: `/v1/jobs/${id}/result`,
  markdown: `/v1/jobs/${id}/result?format=markdown`,
  json: `/v1/jobs/${id}/result?format=json`,
  events: `/v1/jobs/${id}/events`,
});

/** Receives an upload, validates it and queues the job; the temp file is always removed. */
export async function acceptUpload(deps: IngestDeps, req: FastifyRequest, sync: boolean, strict = true): Promise<JobStatus & { cached?: true }> {
  const done = deps.caps?.acquire('uploads', req.tenant);
  try {
    const upload = await readUpload(req, { tmpDir: deps.config.FOLIO_TMP_DIR, maxBytes: deps.config.FOLIO_MAX_UPLOAD_BYTES, idleTimeoutMs: deps.config.FOLIO_HTTP_BODY_IDLE_TIMEOUT_MS });
    try {
      const fields = { ...upload.fields };
      if (sync) delete fields.wait;
      const options = parseOptions(fields, strict);
      return await submitJob(deps, upload.file, { name: upload.name, tenant: req.tenant, options, defaultPriority: sync ? 'interactive' : 'batch' });
    } finally {
      await upload.file.discard();
    }
  } finally {
    done?.();
  }
}

/**
 * Runs a synchronous call under the tenant's cap on them. The slot is taken before the upload is
 * read, so a refused call has submitted nothing.
 */
export async function withSyncSlot<T>(deps: IngestDeps, req: FastifyRequest, fn: () => Promise<T>): Promise<T> {
  const done = deps.caps?.acquire('sync_waits', req.tenant);
  try {
    return await fn();
  } finally {
    done?.();
  }
}

export async function requireJob(deps: IngestDeps, req: FastifyRequest<{ Params: { id: string } }>): Promise<JobStatus> {
  const job = await readJob(deps, req.params.id, req.tenant);
  if (!job) throw new FolioError('FOLIO_JOB_NOT_FOUND', `No job with id "${req.params.id}"`);
  return job;
}

export function publicStatus(s: JobStatus) {
  return { ...publicJob(s), links: links(s.id) };
}

export async function sendResult(deps: IngestDeps, job: JobStatus, format: 'markdown' | 'json', reply: FastifyReply) {
  if (!job.result) {
    throw new FolioError('FOLIO_RESULT_NOT_READY', `Job ${job.id} is ${job.status}; its result is not available`, { status: job.status });
  }
  if (format === 'markdown') {
    reply.type('text/markdown; charset=utf-8');
    return reply.send(await deps.blobs.stream(job.result.markdown));
  }
  reply.type('application/json; charset=utf-8');
  return reply.send(await deps.blobs.stream(job.result.json));
}

export function registerJobRoutes(app: FastifyInstance, deps: IngestDeps) {
  app.post('/v1/jobs', { schema: { summary: 'Submit a document (multipart field "file", or the raw body) for asynchronous OCR', tags: ['jobs'] } }, async (req, reply) => {
    const job = await acceptUpload(deps, req, false);
    reply.status(202).header('location', links(job.id).self);
    return { id: job.id, status: job.status, pages: job.pages, links: links(job.id), ...(job.cached ? { cached: true } : {}) };
  });

  app.post('/v1/ocr', { schema: { summary: 'OCR a document and wait for the Markdown (202 with the job id when it takes longer than the wait)', tags: ['jobs'] } }, async (req, reply) => withSyncSlot(deps, req, async () => {
    const wait = WaitQuery.safeParse(req.query ?? {});
    const waitMs = Math.min(deps.config.FOLIO_SYNC_TIMEOUT_MS, wait.success && wait.data.wait !== undefined ? wait.data.wait * 1000 : Infinity);
    const job = await acceptUpload(deps, req, true);
    const done = await waitForJob(deps, job.id, job.tenant, waitMs);
    if (!done || !done.result) {
      reply.status(done ? 200 : 202).header('location', links(job.id).self);
      return done ? publicStatus(done) : { id: job.id, status: job.status, pages: job.pages, links: links(job.id) };
    }
    if ((req.headers.accept ?? '').includes('text/markdown')) return sendResult(deps, done, 'markdown', reply);
    const markdown = (await deps.blobs.get(done.result.markdown)).toString('utf8');
    return { ...publicStatus(done), markdown };
  }));

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', { schema: { summary: 'Job status and progress', tags: ['jobs'] } }, async (req) => publicStatus(await requireJob(deps, req)));

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/result', { schema: { summary: 'The result: ?format=markdown (default) or json', tags: ['jobs'] } }, async (req, reply) => {
    const q = ResultQuery.safeParse(req.query ?? {});
    if (!q.success) throw zodToFolio(q.error);
    return sendResult(deps, await requireJob(deps, req), q.data.format, reply);
  });

  app.get<{ Params: { id: string; name: string } }>('/v1/jobs/:id/images/:name', { schema: { summary: 'A figure cropped from a page, as linked from the Markdown', tags: ['jobs'] } }, async (req, reply) => {
    const job = await requireJob(deps, req);
    if (!/^\d+_\d+\.jpg$/.test(req.params.name)) throw new FolioError('FOLIO_JOB_NOT_FOUND', `No image "${req.params.name}" in job ${job.id}`);
    const stream = await deps.blobs.stream(BlobKeys.figure(job.id, req.params.name)).catch((err) => {
      throw err?.code === 'FOLIO_BLOB_MISSING' ? new FolioError('FOLIO_JOB_NOT_FOUND', `No image "${req.params.name}" in job ${job.id}`) : err;
    });
    reply.type('image/jpeg');
    return reply.send(stream);
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/events', { schema: { summary: 'Server-Sent Events: status changes until the job ends', tags: ['jobs'] } }, async (req, reply) => {
    await requireJob(deps, req);
    return streamEvents(deps, req, reply);
  });

  app.delete<{ Params: { id: string } }>('/v1/jobs/:id', { schema: { summary: 'Cancel a running job, or delete a finished job and its results', tags: ['jobs'] } }, async (req, reply) => {
    const job = await requireJob(deps, req);
    if (!isTerminal(job.status)) {
      const cancelled = await cancelJob(deps, job.id);
      if (cancelled) return reply.status(202).send(publicStatus(cancelled));
    }
    await deleteJobData(deps, job.id);
    return reply.status(204).send();
  });
}

