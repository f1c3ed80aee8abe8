import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  publishWork,
  publishJobEvent,
  INLINE_MAX_BYTES,
  JobStatus,
  isTerminal,
  type JobOptions,
  type JobSubmitted,
  type SourceInfo,
  selectPages,
  BlobKeys,
  MsgIds,
  Subjects,
  type Priority,
} from '../../shared/bus/index.ts';
import { FolioError, type Runtime } from '../../shared/operations/index.ts';
import { detectMediaType } from '../../shared/document/index.ts';
import { cacheKey, lookupCachedJob } from '../../shared/stores/index.ts';
import { sharedProber } from '../../shared/render/index.ts';
import type { ReceivedFile } from './upload.ts';
import { OFFICE_MEDIA_TYPES, convertToPdf, detectOffice } from './office.ts';
import type { QuotaStore } from './quota-store.ts';
import type { TenantCaps } from './tenant-caps.ts';
import type { Audit } from './audit.ts';

/** What every service gets at start-up, plus ingest's own guards (absent: none). */
export interface IngestDeps extends Runtime {
  /** Per-tenant quotas shared by all replicas (pages per day, jobs and pages in flight). */
  quota?: QuotaStore;
  /** Per-tenant caps on connections this replica holds open. */
  caps?: TenantCaps;
  audit?: Audit;
}

export interface Submission {
  name: string;
  tenant: string;
  options: JobOptions;
  /** Used when the client did not choose: sync requests and single images are interactive. */
  defaultPriority: Priority;
  /** Issue 10: the batch id when the request carried several files. */
  batch?: string;
  /** Issue 10: where a fetched document came from (no query string: it may hold a signature). */
  url?: string;
}

/**
 * Validates what was uploaded (type from the bytes, page count, pixel count), stores it and
 * queues the job. Everything that can be refused is refused here, before the 202.
 */
export async function submitJob(deps: IngestDeps, upload: ReceivedFile, sub: Submission): Promise<JobStatus & { cached?: true }> {
  const started = performance.now();
  if (upload.bytes === 0) throw new FolioError('FOLIO_FILE_EMPTY');
  // Issue 10: an Office document becomes a PDF first (office.ts); everything below sees the PDF.
  const office = detectMediaType(upload.head) ? null : await detectOffice(upload);
  if (!office) return submitDocument(deps, upload, sub, started);
  // The cache is keyed by the bytes the client sent (source.sha256 stays theirs, not the PDF's,
  // whose timestamps differ on every conversion): an identical document skips the conversion.
  if (sub.options.cache === 'use') {
    const hit = await findCachedJob(deps, sub.tenant, upload.sha256, sub.options);
    if (hit) return answeredFromCache(deps, hit, started);
  }
  const c = deps.config;
  const pdf = await convertToPdf(upload, office, {
    bin: c.ingest.office.bin,
    timeoutMs: c.ingest.office.timeoutMs,
    tmpDir: c.tmpDir,
    maxBytes: c.limits.maxUploadBytes,
    concurrency: c.ingest.office.concurrency,
  });
  try {
    const convertedFrom = { format: office, mediaType: OFFICE_MEDIA_TYPES[office], bytes: upload.bytes };
    deps.log.info({ format: office, bytes: upload.bytes, pdfBytes: pdf.bytes }, 'office document converted to PDF');
    return await submitDocument(deps, { ...pdf, sha256: upload.sha256 }, sub, started, convertedFrom);
  } finally {
    await pdf.discard();
  }
}

async function submitDocument(
  deps: IngestDeps,
  file: ReceivedFile,
  sub: Submission,
  started: number,
  convertedFrom?: SourceInfo['convertedFrom'],
): Promise<JobStatus & { cached?: true }> {
  const mediaType = detectMediaType(file.head);
  if (!mediaType)
    throw new FolioError(
      'FOLIO_UNSUPPORTED_MEDIA_TYPE',
      'Unsupported file type: send a PDF, PNG, JPEG, WebP, TIFF, GIF or BMP file (or an Office document: docx, xlsx, pptx, odt, ods, odp)',
    );
  // In a renderer process (pdf.js and sharp never run on ingest's event loop): shared/render/probe.ts.
  const { pageCount } = await sharedProber(deps).probe(file.path, mediaType, {
    maxPages: deps.config.limits.maxPages,
    maxInputPixels: deps.config.limits.maxInputPixels,
  });
  const selected = selectPages(sub.options.pages, pageCount);
  if (selected.length === 0)
    throw new FolioError('FOLIO_PAGE_RANGE_EMPTY', `The page range "${sub.options.pages}" selects no page of this ${pageCount}-page document`, { pageCount });

  if (sub.options.cache === 'use') {
    const hit = await findCachedJob(deps, sub.tenant, file.sha256, sub.options);
    if (hit) {
      deps.log.info({ jobId: hit.id, sha256: file.sha256 }, 'identical upload answered from the result cache');
      return answeredFromCache(deps, hit, started);
    }
  }

  const id = randomUUID();
  const now = new Date().toISOString();
  const priority = sub.options.priority ?? (pageCount === 1 ? 'interactive' : sub.defaultPriority);
  const status: JobStatus = {
    v: 1,
    id,
    tenant: sub.tenant,
    status: 'queued',
    source: {
      name: sub.name,
      mediaType,
      bytes: file.bytes,
      sha256: file.sha256,
      pageCount,
      ...(convertedFrom ? { convertedFrom } : {}),
      ...(sub.url ? { url: sub.url } : {}),
    },
    options: sub.options,
    priority,
    pages: { total: selected.length, done: 0, failed: 0 },
    createdAt: now,
    updatedAt: now,
    ...(sub.batch ? { batch: sub.batch } : {}),
  };
  const sourceKey = BlobKeys.source(id);
  // A small source (a photo, a one-page scan) travels inside the job message, durable in the jobs
  // stream like the message itself: nothing is stored under sourceKey, nothing read back.
  const inline = file.bytes <= INLINE_MAX_BYTES ? (file.data ?? (await readFile(file.path))).toString('base64') : undefined;
  // Booked before anything is stored; given back here if the job never gets queued (no end event would).
  await deps.quota?.reserve(sub.tenant, id, selected.length);
  try {
    if (inline === undefined) await deps.blobs.putFile(sourceKey, file.path, file.bytes, mediaType);
    await deps.jobs.create(status);
  } catch (err) {
    await deps.quota?.release(sub.tenant, id).catch(() => {});
    throw err;
  }
  const msg: JobSubmitted = {
    v: 1,
    jobId: id,
    tenant: sub.tenant,
    sourceKey,
    ...(inline !== undefined ? { source: inline } : {}),
    mediaType,
    options: sub.options,
    priority,
  };
  try {
    await publishWork(deps.bus.js, Subjects.jobSubmitted(sub.tenant, id), msg, MsgIds.job(id));
  } catch (err) {
    // Not queued means not accepted: record it so the id never shows a job stuck in "queued".
    await deps.jobs
      .update(id, (s) => ({
        ...s,
        status: 'failed',
        error: { code: 'FOLIO_UNAVAILABLE', message: 'The job could not be queued' },
        finishedAt: new Date().toISOString(),
      }))
      .catch(() => {});
    await deps.quota?.release(sub.tenant, id).catch(() => {});
    throw new FolioError('FOLIO_UNAVAILABLE', 'The job queue is unavailable, try again', undefined, { cause: err });
  }
  deps.metrics.jobsSubmitted.inc({ media_type: mediaType });
  deps.log.info({ jobId: id, mediaType, pages: selected.length, bytes: file.bytes, priority }, 'job accepted');
  return status;
}

/**
 * A cached answer is a job that was accepted and completed, like any other, only faster: it is
 * counted as submitted and finished, and its latency (the request's time in here) observed, so
 * dashboards of throughput and latency do not lose the cheapest jobs.
 */
function answeredFromCache(deps: IngestDeps, hit: JobStatus, started: number): JobStatus & { cached: true } {
  deps.metrics.jobsSubmitted.inc({ media_type: hit.source.mediaType });
  deps.metrics.jobsFinished.inc({ status: 'completed' });
  deps.metrics.jobDuration.observe({ status: 'completed' }, (performance.now() - started) / 1000);
  deps.metrics.cacheHits.inc();
  return { ...hit, cached: true };
}

async function findCachedJob(deps: IngestDeps, tenant: string, sha256: string, options: JobOptions): Promise<JobStatus | null> {
  const id = await lookupCachedJob(deps.bus.cache, cacheKey(tenant, sha256, options)).catch(() => null);
  const cur = id ? await deps.jobs.get(id) : null;
  return cur && cur.status.status === 'completed' && cur.status.tenant === tenant ? cur.status : null;
}

/** The job as its owner may see it; null when unknown or someone else's (both are a 404). */
export async function readJob(deps: IngestDeps, jobId: string, tenant: string): Promise<JobStatus | null> {
  const cur = await deps.jobs.get(jobId);
  if (!cur || cur.status.tenant !== tenant) return null;
  const s = cur.status;
  if (!isTerminal(s.status) && s.status !== 'queued') {
    // Live progress without a hot key: count the per-page records.
    s.pages.done = await deps.jobs.countFinishedPages(jobId).catch(() => s.pages.done);
  }
  return s;
}

export async function cancelJob(deps: IngestDeps, jobId: string): Promise<JobStatus | null> {
  const now = new Date().toISOString();
  const cancelled = await deps.jobs.update(jobId, (s) => (isTerminal(s.status) ? null : { ...s, status: 'cancelled', finishedAt: now }));
  if (cancelled) {
    await publishJobEvent(deps.bus.js, cancelled);
    deps.metrics.jobsFinished.inc({ status: 'cancelled' });
  }
  return cancelled;
}

/** Deletes a finished job's objects and records. */
export async function deleteJobData(deps: IngestDeps, jobId: string): Promise<void> {
  await deps.blobs.deletePrefixes(BlobKeys.jobPrefix(jobId));
  await deps.jobs.remove(jobId);
}
