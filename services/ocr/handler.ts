import type { JetStreamClient } from '@nats-io/jetstream';
import { type BlobStore, getJson, storeJsonUnlessSmall, type JobStore } from '../../shared/stores/index.ts';
import {
  type AttemptContext,
  publishWork,
  PageAttempt,
  PageText,
  type PageDone,
  type PageFailed,
  type PageReady,
  type PageResult,
  BlobKeys,
  MsgIds,
  Subjects,
} from '../../shared/bus/index.ts';
import { publicError, type FolioError, type Logger, type Metrics } from '../../shared/operations/index.ts';
import type { PageInput } from './engine.ts';
import { chooseEngines, type EngineSet } from './engine-choice.ts';
import { cropFigures } from './figures.ts';
import { readPage, type ReadPageResult } from './read-page.ts';

export interface OcrDeps {
  js: JetStreamClient;
  jobs: JobStore;
  blobs: BlobStore;
  engines: EngineSet;
  metrics: Metrics;
  log: Logger;
  /** A hard cap per page, whatever the engine: a stuck call becomes a retryable failure. */
  pageTimeoutMs: number;
}

/** A job seen running this recently is not read again before its next page (a cancel lands within it). */
const JOB_SEEN_MS = 1000;

/** folio.page.ready → page result stored (or, when small, carried in the message) → folio.page.done. */
export function createOcrHandler(deps: OcrDeps) {
  return async (msg: PageReady, ctx: AttemptContext): Promise<void> => {
    if (await deps.jobs.isOver(msg.jobId, JOB_SEEN_MS)) return;
    // A small page image and text layer come inline in the message: no object-store read.
    const [image, text] = await Promise.all([
      msg.image !== undefined ? Buffer.from(msg.image, 'base64') : deps.blobs.get(msg.imageKey),
      msg.text ?? (msg.textKey ? getJson(deps.blobs, msg.textKey, PageText) : undefined),
    ]);
    const input: PageInput = { page: msg.page, image, width: msg.width, height: msg.height, task: msg.options.task, lang: msg.options.lang, text };
    const started = Date.now();
    const engines = await chooseEngines(deps.engines, msg.options, text);
    let read: ReadPageResult;
    deps.metrics.ocrInFlight.inc();
    try {
      // Retries and fallbacks by policy (read-page.ts); the page's deadline covers them all.
      read = await readPage(deps, engines, input, AbortSignal.any([ctx.signal, AbortSignal.timeout(deps.pageTimeoutMs)]));
    } catch (err) {
      deps.metrics.pagesOcr.inc({ engine: engines[0].name, outcome: 'error' });
      throw err;
    } finally {
      deps.metrics.ocrInFlight.dec();
    }
    const { output, quality, attempts } = read;
    const ms = Date.now() - started;
    deps.metrics.pagesOcr.inc({ engine: output.engine, outcome: 'ok' });
    deps.metrics.ocrDuration.observe({ engine: output.engine }, ms / 1000);
    if (quality.confidence !== undefined) deps.metrics.pageConfidence.observe({ engine: output.engine }, quality.confidence);
    deps.metrics.pageRepetition.observe({ engine: output.engine }, quality.repetition);
    for (const reason of quality.reasons) deps.metrics.pagesSuspect.inc({ engine: output.engine, reason });

    for (const fig of await cropFigures(image, output.blocks)) {
      await deps.blobs.put(BlobKeys.figure(msg.jobId, fig.name), fig.jpeg, 'image/jpeg');
    }
    // The tries are recorded when there was more than the kept one: a fallback never hides what failed.
    const result: PageResult = { page: msg.page, width: msg.width, height: msg.height, ms, ...output, quality, ...(attempts.length > 1 ? { attempts } : {}) };
    const base = { v: 1 as const, jobId: msg.jobId, tenant: msg.tenant, page: msg.page, count: msg.count, engine: output.engine };
    const resultKey = await storeJsonUnlessSmall(deps.blobs, BlobKeys.pageResult(msg.jobId, msg.page), result);
    const done: PageDone = resultKey ? { ...base, resultKey } : { ...base, result };
    await publishWork(deps.js, Subjects.pageDone(msg.tenant, msg.jobId), done, MsgIds.pageDone(msg.jobId, msg.page));
  };
}

/** The last attempt failed: the page is reported failed so the job can still end (partial or failed). */
export function createOcrGiveUp(deps: Pick<OcrDeps, 'js' | 'log'>) {
  return async (msg: PageReady, err: FolioError): Promise<void> => {
    const tries = PageAttempt.array().safeParse(err.details?.attempts);
    const failed: PageFailed = {
      v: 1,
      jobId: msg.jobId,
      tenant: msg.tenant,
      page: msg.page,
      count: msg.count,
      error: publicError(err),
      ...(tries.success && tries.data.length > 0 ? { attempts: tries.data } : {}),
    };
    await publishWork(deps.js, Subjects.pageFailed(msg.tenant, msg.jobId), failed, MsgIds.pageFailed(msg.jobId, msg.page));
  };
}
