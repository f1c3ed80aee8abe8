import { settingNames, cidrList } from '../../../shared/config/index.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FolioError, publicError } from '../../../shared/operations/index.ts';
import { JobOptions, isTerminal, type JobStatus, BlobKeys, Subjects as Subj } from '../../../shared/bus/index.ts';
import { cancelJob, deleteJobData, submitJob, type IngestDeps } from '../jobs.ts';
import { readInputs, readUpload, type Input } from '../request-file.ts';
import { toHttpError, zodToFolio } from '../http-errors.ts';
import { fetchToFile, type FetchPolicy, type Fetched } from '../fetch-url.ts';
import { streamEvents } from './events.ts';
import { RENDERED_FORMATS, sendRenderedResult, type RenderedFormat } from './formats.ts';
import { links, publicStatus, requireJob } from '../public-job.ts';
import type { BatchAccepted } from '../../../shared/document/index.ts';
import { checkUrlSyntax, UnsafeUrlError } from '../ssrf.ts';
import { tenantWebhookSecret } from '../notify/webhook-signature.ts';
import { randomUUID } from 'node:crypto';
import { waitForEnd } from '../wait.ts';

// html, chunks, pdf, hocr and alto are rendered from document.json by routes/formats.ts; maxTokens/overlap are chunks' options.
const ResultQuery = z
  .object({ format: z.enum(['markdown', 'json', ...RENDERED_FORMATS]).default('markdown'), maxTokens: z.string().optional(), overlap: z.string().optional() })
  .strict();
const WaitQuery = z.object({ wait: z.coerce.number().int().min(0).max(3600).optional() });

export function parseOptions(fields: Record<string, string>, strict = true): JobOptions {
  const schema = strict ? JobOptions : JobOptions.strip();
  const parsed = schema.safeParse(fields);
  if (!parsed.success) throw zodToFolio(parsed.error);
  return parsed.data;
}

/** The callback for a job: its own `webhook` field, else the tenant's default; null when none. */
export function webhookFor(deps: IngestDeps, tenant: string, field: string | undefined): string | null {
  const url = field?.trim() || deps.config.ingest.webhooks.defaults.get(tenant);
  if (!url) return null;
  if (!deps.config.ingest.webhooks.secret)
    throw new FolioError('FOLIO_INVALID_OPTIONS', `Webhooks are not configured on this server (${settingNames.webhookSecret})`, { field: 'webhook' });
  try {
    checkUrlSyntax(url);
  } catch (err) {
    if (err instanceof UnsafeUrlError)
      throw new FolioError('FOLIO_INVALID_OPTIONS', `Invalid options: webhook: ${err.message}`, { issues: [{ field: 'webhook', message: err.message }] });
    throw err;
  }
  return url;
}

/**
 * Records the job's webhook. When the job already ended (a cached answer, or a job faster than
 * this write), its completion event is published again so the notifier sees the webhook: an
 * event-driven client never waits forever.
 */
async function attachWebhook(deps: IngestDeps, job: JobStatus, url: string): Promise<JobStatus> {
  const written = await deps.jobs.update(job.id, (s) => ({ ...s, webhook: { url, deliveries: [] } }));
  if (written && isTerminal(written.status)) await republishEnd(deps, written);
  return written ?? job;
}

/** A completion event for a job that had already ended (cached answers): a fresh message id, so durable consumers get it too. */
export async function republishEnd(deps: IngestDeps, s: JobStatus) {
  const kind = s.status as 'completed' | 'partial' | 'failed' | 'cancelled';
  await deps.bus.js.publish(Subj.eventLog(s.tenant, s.id, kind), JSON.stringify({ v: 1, jobId: s.id, tenant: s.tenant, kind, status: s }), {
    msgID: `${s.id}.${kind}.again.${randomUUID()}`,
  });
}

/** How URL fetches are bounded and which addresses they may reach (fetch-url.ts). */
function fetchPolicy(deps: IngestDeps): FetchPolicy {
  const c = deps.config;
  return {
    tmpDir: c.tmpDir,
    maxBytes: c.limits.maxUploadBytes,
    timeoutMs: c.ingest.fetch.timeoutMs,
    maxRedirects: c.ingest.fetch.maxRedirects,
    allowPrivate: c.ingest.fetch.allowPrivate,
    allow: cidrList(c.ingest.fetch.allowCidrs),
  };
}

interface Common {
  tenant: string;
  options: JobOptions;
  webhook: string | null;
  sync: boolean;
  batch?: string;
}

/**
 * Validates one document and queues its job: a URL is fetched first (fetch-url.ts), then the
 * bytes are checked like any upload (submitJob). A fetched file is removed here; an uploaded one
 * by the caller, which received it.
 */
async function submitInput(deps: IngestDeps, input: Input, c: Common, prefetched?: Promise<Fetched>): Promise<JobStatus & { cached?: true }> {
  const fetched = input.kind === 'url' ? await (prefetched ?? fetchToFile(input.url, fetchPolicy(deps))) : null;
  try {
    const file = fetched?.file ?? (input as Extract<Input, { kind: 'file' }>).file;
    const source = fetched ? new URL(fetched.url) : null;
    const job = await submitJob(deps, file, {
      name: fetched?.name ?? input.name,
      tenant: c.tenant,
      options: c.options,
      defaultPriority: c.sync ? 'interactive' : 'batch',
      batch: c.batch,
      // Without the query string: a presigned URL's signature is a credential.
      url: source ? `${source.origin}${source.pathname}` : undefined,
    });
    if (c.webhook) return { ...(await attachWebhook(deps, job, c.webhook)), ...(job.cached ? { cached: true as const } : {}) };
    // A cached answer is a job that ended before: its end is announced again for event-driven clients.
    if (job.cached) await republishEnd(deps, job).catch((err) => deps.log.warn({ err, jobId: job.id }, 'could not republish a cached job’s end'));
    return job;
  } finally {
    await fetched?.file.discard();
  }
}

/** The options and webhook shared by every document of a request (refused as a whole when invalid). */
function commonOf(deps: IngestDeps, req: FastifyRequest, fields: Record<string, string>, sync: boolean, strict: boolean): Common {
  const { webhook: webhookField, ...rest } = fields;
  if (sync) delete rest.wait;
  return { tenant: req.tenant, options: parseOptions(rest, strict), webhook: webhookFor(deps, req.tenant, webhookField), sync };
}

const discardInputs = (inputs: Input[]) => Promise.all(inputs.map((i) => (i.kind === 'file' ? i.file.discard() : undefined)));

/** Receives one document (a file, or a URL to fetch), validates it and queues the job; temp files are always removed. */
export async function acceptUpload(deps: IngestDeps, req: FastifyRequest, sync: boolean, strict = true): Promise<JobStatus & { cached?: true }> {
  const done = deps.caps?.acquire('uploads', req.tenant);
  try {
    const upload = await readUpload(req, {
      tmpDir: deps.config.tmpDir,
      maxBytes: deps.config.limits.maxUploadBytes,
      idleTimeoutMs: deps.config.ingest.bodyIdleTimeoutMs,
    });
    try {
      return await submitInput(deps, upload.input, commonOf(deps, req, upload.fields, sync, strict));
    } finally {
      await discardInputs(upload.inputs);
    }
  } finally {
    done?.();
  }
}

/** One document of a batch: its job, or why it was refused (the others are unaffected). */
export type BatchOutcome = { index: number; name: string; job: JobStatus & { cached?: true } } | { index: number; name: string; error: FolioError };

/** URLs of a batch fetched ahead of the one being submitted (the network wait overlaps; submission stays in order). */
const FETCH_AHEAD = 3;

/**
 * POST /v1/jobs: one document answers as before (a job, or an error); several make a batch, a
 * job each under one batch id, each document accepted or refused on its own.
 */
export async function acceptJobs(
  deps: IngestDeps,
  req: FastifyRequest,
): Promise<{ single: JobStatus & { cached?: true } } | { batch: string; outcomes: BatchOutcome[] }> {
  const done = deps.caps?.acquire('uploads', req.tenant);
  try {
    const read = await readInputs(req, {
      tmpDir: deps.config.tmpDir,
      maxBytes: deps.config.limits.maxUploadBytes,
      idleTimeoutMs: deps.config.ingest.bodyIdleTimeoutMs,
      maxInputs: deps.config.ingest.maxFilesPerRequest,
    });
    try {
      const common = commonOf(deps, req, read.fields, false, true);
      if (read.inputs.length === 1) return { single: await submitInput(deps, read.inputs[0], common) };
      const batch = randomUUID();
      const outcomes: BatchOutcome[] = [];
      // Documents are submitted in request order, so quotas are spent first come, first served
      // (the same request gives the same answer); only URL fetches run ahead, at most FETCH_AHEAD.
      const ahead = new Map<number, Promise<Fetched>>();
      const fetchAhead = (i: number) => {
        const input = read.inputs[i];
        if (input?.kind !== 'url' || ahead.has(i)) return;
        const p = fetchToFile(input.url, fetchPolicy(deps));
        p.catch(() => {}); // observed when its turn comes; never an unhandled rejection meanwhile
        ahead.set(i, p);
      };
      try {
        for (let i = 0; i < read.inputs.length; i++) {
          for (let k = i; k < i + FETCH_AHEAD; k++) fetchAhead(k);
          const input = read.inputs[i];
          try {
            outcomes.push({ index: i, name: input.name, job: await submitInput(deps, input, { ...common, batch }, ahead.get(i)) });
          } catch (err) {
            const error = toHttpError(err);
            if (error.status >= 500) deps.log.error({ err, batch, index: i }, 'a document of a batch failed');
            else deps.metrics.uploadsRejected.inc({ code: error.code });
            // A quota refusal inside a 207 is audited as the error handler audits a whole refused request.
            if (error.code === 'FOLIO_QUOTA_EXCEEDED' || (error.code === 'FOLIO_TOO_MANY_PAGES' && error.details?.quota)) {
              deps.audit?.record('quota.refused', {
                tenant: req.tenant || undefined,
                keyId: req.keyId,
                method: req.method,
                route: req.routeOptions.url,
                reason: String(error.details?.quota ?? ''),
                batch,
                index: i,
              });
            }
            outcomes.push({ index: i, name: input.name, error });
          } finally {
            ahead.delete(i);
          }
        }
      } finally {
        // Fetched ahead but never submitted (an exception above): their temp files go too.
        await Promise.all(
          [...ahead.values()].map((p) =>
            p.then(
              (f) => f.file.discard(),
              () => {},
            ),
          ),
        );
      }
      deps.log.info({ batch, documents: outcomes.length, accepted: outcomes.filter((o) => 'job' in o).length }, 'batch accepted');
      return { batch, outcomes };
    } finally {
      await discardInputs(read.inputs);
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

/** The answer to a batch: accepted documents with their jobs, refused ones with their error, each with its index in the request. */
export function batchBody(batch: string, outcomes: BatchOutcome[]): BatchAccepted {
  const jobs: BatchAccepted['jobs'] = [];
  const errors: BatchAccepted['errors'] = [];
  for (const o of outcomes) {
    if ('job' in o) jobs.push({ index: o.index, name: o.name, ...accepted(o.job) });
    else {
      const e = publicError(o.error);
      errors.push({ index: o.index, name: o.name, error: { ...e, ...(o.error.public && o.error.details ? { details: o.error.details } : {}) } });
    }
  }
  return { batch, jobs, errors };
}

const accepted = (job: JobStatus & { cached?: true }) => ({
  id: job.id,
  status: job.status,
  pages: job.pages,
  links: links(job.id),
  ...(job.cached ? { cached: true } : {}),
  ...(job.batch ? { batch: job.batch } : {}),
});

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
  app.post(
    '/v1/jobs',
    {
      schema: { summary: 'Submit documents (multipart "file" parts or "url" fields, a JSON {url|urls}, or the raw body) for asynchronous OCR', tags: ['jobs'] },
    },
    async (req, reply) => {
      const r = await acceptJobs(deps, req);
      if ('single' in r) {
        reply.status(202).header('location', links(r.single.id).self);
        return accepted(r.single);
      }
      const body = batchBody(r.batch, r.outcomes);
      // Nothing accepted is an error answer (the first document's), listing every document's reason.
      const first = r.outcomes.find((o) => 'error' in o);
      if (body.jobs.length === 0 && first && 'error' in first)
        throw new FolioError(first.error.code, `No document of the request was accepted; the first: ${publicError(first.error).message}`, {
          batch: r.batch,
          errors: body.errors,
        });
      reply.status(body.errors.length > 0 ? 207 : 202);
      return body;
    },
  );

  app.post(
    '/v1/ocr',
    { schema: { summary: 'OCR a document and wait for the Markdown (202 with the job id when it takes longer than the wait)', tags: ['jobs'] } },
    async (req, reply) =>
      withSyncSlot(deps, req, async () => {
        const wait = WaitQuery.safeParse(req.query ?? {});
        const waitMs = Math.min(deps.config.ingest.syncTimeoutMs, wait.success && wait.data.wait !== undefined ? wait.data.wait * 1000 : Infinity);
        const job = await acceptUpload(deps, req, true);
        const done = await waitForEnd(deps, job.id, job.tenant, waitMs);
        if (!done || !done.result) {
          reply.status(done ? 200 : 202).header('location', links(job.id).self);
          return done ? publicStatus(done) : accepted(job);
        }
        if ((req.headers.accept ?? '').includes('text/markdown')) return sendResult(deps, done, 'markdown', reply);
        const markdown = (await deps.blobs.get(done.result.markdown)).toString('utf8');
        return { ...publicStatus(done), markdown };
      }),
  );

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', { schema: { summary: 'Job status and progress', tags: ['jobs'] } }, async (req) =>
    publicStatus(await requireJob(deps, req)),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/result',
    {
      schema: {
        summary: 'The result: ?format=markdown (default), json, html, chunks (&maxTokens=512&overlap=64), pdf (searchable), hocr or alto',
        tags: ['jobs'],
      },
    },
    async (req, reply) => {
      const q = ResultQuery.safeParse(req.query ?? {});
      if (!q.success) throw zodToFolio(q.error);
      const format = q.data.format;
      if (format !== 'markdown' && format !== 'json')
        return sendRenderedResult(deps, await requireJob(deps, req), format satisfies RenderedFormat, req.query, reply);
      return sendResult(deps, await requireJob(deps, req), format, reply);
    },
  );

  app.get<{ Params: { id: string; name: string } }>(
    '/v1/jobs/:id/images/:name',
    { schema: { summary: 'A figure cropped from a page, as linked from the Markdown', tags: ['jobs'] } },
    async (req, reply) => {
      const job = await requireJob(deps, req);
      if (!/^\d+_\d+\.jpg$/.test(req.params.name)) throw new FolioError('FOLIO_JOB_NOT_FOUND', `No image "${req.params.name}" in job ${job.id}`);
      const stream = await deps.blobs.stream(BlobKeys.figure(job.id, req.params.name)).catch((err) => {
        throw err?.code === 'FOLIO_BLOB_MISSING' ? new FolioError('FOLIO_JOB_NOT_FOUND', `No image "${req.params.name}" in job ${job.id}`) : err;
      });
      reply.type('image/jpeg');
      return reply.send(stream);
    },
  );

  app.get<{ Params: { id: string; page: string } }>(
    '/v1/jobs/:id/pages/:page/image',
    { schema: { summary: 'A page as the OCR engine saw it', tags: ['jobs'] } },
    async (req, reply) => {
      const job = await requireJob(deps, req);
      const page = Number(req.params.page);
      if (!/^\d{1,6}$/.test(req.params.page) || page < 1)
        throw new FolioError('FOLIO_INVALID_OPTIONS', `Invalid options: page: "${req.params.page}" is not a page number`);
      const stream = await deps.blobs.stream(BlobKeys.pageImage(job.id, page)).catch((err) => {
        throw err?.code === 'FOLIO_BLOB_MISSING'
          ? new FolioError('FOLIO_JOB_NOT_FOUND', `Job ${job.id} has no image of page ${page} (not rendered yet, or deleted)`)
          : err;
      });
      reply.type('image/png').header('cache-control', 'private, max-age=3600');
      return reply.send(stream);
    },
  );

  app.get('/v1/webhook-secret', { schema: { summary: 'This tenant’s webhook signing secret', tags: ['webhooks'] } }, async (req) => {
    const master = deps.config.ingest.webhooks.secret;
    if (!master) throw new FolioError('FOLIO_UNAVAILABLE', `Webhooks are not configured on this server (${settingNames.webhookSecret})`);
    return { secret: tenantWebhookSecret(master, req.tenant), algorithm: 'HMAC-SHA256' as const };
  });

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/events',
    { schema: { summary: 'Server-Sent Events: status changes until the job ends', tags: ['jobs'] } },
    async (req, reply) => {
      await requireJob(deps, req);
      return streamEvents(deps, req, reply);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    { schema: { summary: 'Cancel a running job, or delete a finished job and its results', tags: ['jobs'] } },
    async (req, reply) => {
      const job = await requireJob(deps, req);
      if (!isTerminal(job.status)) {
        const cancelled = await cancelJob(deps, job.id);
        if (cancelled) return reply.status(202).send(publicStatus(cancelled));
      }
      await deleteJobData(deps, job.id);
      return reply.status(204).send();
    },
  );
}
