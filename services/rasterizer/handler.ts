import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { type BlobStore, storeJsonUnlessSmall, type JobRead, type JobStore } from '../../shared/stores/index.ts';
import {
  type AttemptContext,
  publishWork,
  finishJob,
  INLINE_MAX_BYTES,
  isTerminal,
  type JobSubmitted,
  type PageFailed,
  type PageReady,
  BlobKeys,
  JobKeys,
  MsgIds,
  Subjects,
} from '../../shared/bus/index.ts';
import { publicError, type FolioError, type Logger, type Metrics } from '../../shared/operations/index.ts';
import type { HostPool } from '../../shared/render/index.ts';
import { isFailedRender, renderPages, type FailedRender, type RenderedPage } from './rasterize.ts';

export interface RasterizerDeps {
  js: JetStreamClient;
  kv: KV;
  jobs: JobStore;
  blobs: BlobStore;
  metrics: Metrics;
  log: Logger;
  /** Renderer processes (renderers.ts): pdf.js and sharp never run in this process. */
  renderers: HostPool;
  limits: {
    maxLongSide: number;
    maxInputPixels: number;
    maxPages: number;
    tmpDir: string;
    openTimeoutMs: number;
    pageTimeoutMs: number;
    testFault?: string;
  };
}

/**
 * folio.job.submitted → one folio.page.ready per page, each published as soon as it is stored; a
 * page that cannot be rendered becomes folio.page.failed and the next page goes on.
 * A redelivered job (the rasterizer died mid-PDF) resumes after the last page it published.
 */
export function createRasterizeHandler(deps: RasterizerDeps) {
  return async (msg: JobSubmitted, ctx: AttemptContext): Promise<void> => {
    const read = await deps.jobs.get(msg.jobId);
    if (!read || isTerminal(read.status.status)) return;
    // 'rasterizing' is written while the document opens and its first page renders; the first
    // publish waits for it. Awaited there (or caught here if the attempt ends before).
    const marking =
      read.status.status === 'queued'
        ? deps.jobs.change(msg.jobId, (s) => (s.status === 'queued' ? { ...s, status: 'rasterizing' } : null), read)
        : Promise.resolve(read);
    marking.catch(() => {});
    let cur: JobRead | null | undefined;

    // Only a redelivered job can have a resume point (JetStream counts deliveries before handing one out).
    const progress = ctx.deliveryCount > 1 ? await deps.kv.get(JobKeys.rasterProgress(msg.jobId)) : null;
    const publishedUpTo = progress?.operation === 'PUT' && progress.length > 0 ? Number(progress.string()) : 0;
    const sourcePath = path.join(deps.limits.tmpDir, `folio-source-${randomUUID()}`);
    try {
      // A small source came inside the message (ingest stored nothing); a larger one is copied to disk.
      const source = msg.source !== undefined ? { data: Buffer.from(msg.source, 'base64') } : { path: sourcePath };
      if (msg.source === undefined) await pipeline(await deps.blobs.stream(msg.sourceKey), createWriteStream(sourcePath));
      const { tmpDir: _, ...limits } = deps.limits;
      const pages = renderPages(deps.renderers, source, msg.mediaType, {
        ...limits,
        pages: msg.options.pages,
        dpi: msg.options.dpi,
        skip: (page) => page <= publishedUpTo,
        signal: ctx.signal,
      });
      let started = Date.now();
      for await (const p of pages) {
        // Read at most once a second (the read above counts): a cancel stops the next page within that.
        if (await deps.jobs.isOver(msg.jobId, JOB_SEEN_MS)) return;
        if (cur === undefined) cur = await marking;
        if (isFailedRender(p)) await publishFailed(deps, msg, p);
        else await publishRendered(deps, msg, p);
        // The resume point; a one-page job has none to resume from (a redelivery renders the page
        // again and its publish is dropped as a duplicate by message id).
        if (p.count > 1) await deps.kv.put(JobKeys.rasterProgress(msg.jobId), String(p.page));
        ctx.working();
        deps.metrics.renderDuration.observe((Date.now() - started) / 1000);
        started = Date.now();
      }
      await deps.jobs.change(msg.jobId, (s) => (s.status === 'rasterizing' || s.status === 'queued' ? { ...s, status: 'ocr' } : null), cur ?? (await marking));
    } finally {
      if (msg.source === undefined) await rm(sourcePath, { force: true });
    }
  };
}

/** A job seen running this recently is not read again before its next page. */
const JOB_SEEN_MS = 1000;

async function publishRendered(deps: RasterizerDeps, msg: JobSubmitted, p: RenderedPage): Promise<void> {
  // The image is stored whatever its size (the page-image route serves it); a small one also
  // travels in the message, so OCR reads no object. A small text layer travels instead of being stored.
  const imageKey = BlobKeys.pageImage(msg.jobId, p.page);
  await deps.blobs.put(imageKey, p.png, 'image/png');
  const image = p.png.length <= INLINE_MAX_BYTES ? p.png.toString('base64') : undefined;
  const textKey = p.text ? await storeJsonUnlessSmall(deps.blobs, BlobKeys.pageText(msg.jobId, p.page), p.text) : undefined;
  const text: PageReady['text'] = textKey ? undefined : p.text;
  const ready: PageReady = {
    v: 1,
    jobId: msg.jobId,
    tenant: msg.tenant,
    page: p.page,
    count: p.count,
    imageKey,
    ...(image !== undefined ? { image } : {}),
    width: p.width,
    height: p.height,
    textKey,
    ...(text ? { text } : {}),
    priority: msg.priority,
    options: msg.options,
  };
  await publishWork(deps.js, Subjects.pageReady(msg.priority, msg.tenant, msg.jobId), ready, MsgIds.page(msg.jobId, p.page));
  deps.metrics.pagesRendered.inc();
}

/** The page goes straight to the assembler as failed; OCR never sees it. */
async function publishFailed(deps: RasterizerDeps, msg: JobSubmitted, p: FailedRender): Promise<void> {
  deps.log.warn({ jobId: msg.jobId, page: p.page, code: p.error.code, msg: p.error.message }, 'page could not be rendered');
  const failed: PageFailed = { v: 1, jobId: msg.jobId, tenant: msg.tenant, page: p.page, count: p.count, error: publicError(p.error) };
  await publishWork(deps.js, Subjects.pageFailed(msg.tenant, msg.jobId), failed, MsgIds.pageFailed(msg.jobId, p.page));
  deps.metrics.pagesRenderFailed.inc({ code: p.error.code });
}

/** A document that cannot be opened fails the whole job (pages already queued are ignored later). */
export function createRasterizeGiveUp(deps: Pick<RasterizerDeps, 'jobs' | 'js' | 'metrics'>) {
  return async (msg: JobSubmitted, err: FolioError): Promise<void> => {
    const finished = await finishJob({ jobs: deps.jobs, js: deps.js, metrics: deps.metrics }, msg.jobId, (s) => ({
      ...s,
      status: 'failed',
      error: publicError(err),
    }));
    if (finished) deps.metrics.jobsFinished.inc({ status: 'failed' });
  };
}
