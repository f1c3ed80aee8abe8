import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { cacheKey, rememberJob, type BlobStore, getJson, type JobRead, type JobStore } from '../../shared/stores/index.ts';
import {
  type AttemptContext,
  ensureJobEvent,
  finishJob,
  PageResult,
  isTerminal,
  type JobStatus,
  type PageOutcome,
  type PageRecord,
  type PageSummary,
  BlobKeys,
} from '../../shared/bus/index.ts';
import { FolioError, publicError, type Logger, type Metrics } from '../../shared/operations/index.ts';
import { assembleDocument } from './assemble.ts';

export interface AssemblerDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** The result cache: identical uploads after this one are answered with this job. */
  cache: KV;
  jobs: JobStore;
  blobs: BlobStore;
  metrics: Metrics;
  log: Logger;
}

// A small result travels inline (page.done carries it) and is kept in the page record itself.
const recordOf = (msg: PageOutcome): PageRecord =>
  'engine' in msg
    ? { page: msg.page, status: 'done', engine: msg.engine, ...(msg.result ? { result: msg.result } : { resultKey: msg.resultKey }) }
    : { page: msg.page, status: 'failed', error: msg.error, ...(msg.attempts ? { attempts: msg.attempts } : {}) };

/**
 * folio.page.done / folio.page.failed → a per-page record; the message that completes the set
 * assembles the document and ends the job with compare-and-set (exactly one completion event).
 */
export function createAssembleHandler(deps: AssemblerDeps) {
  return async (msg: PageOutcome, _ctx: AttemptContext): Promise<void> => {
    const cur = await deps.jobs.get(msg.jobId);
    if (!cur) return;
    if (isTerminal(cur.status.status)) {
      // A redelivery after a crash between the CAS and the event: make sure the event went out, once.
      await ensureJobEvent(deps, cur.status);
      return;
    }
    const record = recordOf(msg);
    const first = await deps.jobs.recordPage(msg.jobId, record);
    // A one-page job is complete with this record: no count, and (when this record is the one
    // stored) no read of the records either. Otherwise count the records the KV stream holds.
    if (msg.count === 1) return assembleJob(deps, cur.status, { read: cur, records: first ? [record] : undefined });
    if ((await deps.jobs.countFinishedPages(msg.jobId)) < msg.count) return;
    await assembleJob(deps, cur.status, { read: cur });
  };
}

/**
 * Assembles whatever pages have records and ends the job (completed, partial or failed), once.
 * `known`: the status as just read (the CAS writes start from it) and the records when the
 * caller holds every one of them.
 */
export async function assembleJob(deps: AssemblerDeps, job: JobStatus, known: { read?: JobRead; records?: PageRecord[] } = {}) {
  const assembling = await deps.jobs.change(job.id, (s) => (isTerminal(s.status) ? null : { ...s, status: 'assembling' }), known.read);
  const records = known.records ?? (await deps.jobs.pageRecords(job.id));
  const results = new Map<number, PageResult>();
  await Promise.all(
    records
      .filter((r) => r.status === 'done' && (r.result || r.resultKey))
      .map(async (r) => results.set(r.page, r.result ?? (await getJson(deps.blobs, r.resultKey!, PageResult)))),
  );
  const { markdown, json } = assembleDocument({ jobId: job.id, source: job.source, options: job.options, records, results });
  const keys = { markdown: BlobKeys.markdown(job.id), json: BlobKeys.json(job.id) };
  await Promise.all([
    deps.blobs.put(keys.markdown, Buffer.from(markdown), 'text/markdown; charset=utf-8'),
    deps.blobs.put(keys.json, Buffer.from(JSON.stringify(json)), 'application/json'),
  ]);

  const done = records.filter((r) => r.status === 'done').length;
  const failed = records.length - done;
  const status = failed === 0 ? 'completed' : done === 0 ? 'failed' : 'partial';
  const details = pageDetails(records, results);
  // Counted only where pages were assessed (results from before quality signals carry none).
  const suspectPages = details.filter((d) => d.quality?.suspect).map((d) => d.page);
  const quality = details.some((d) => d.quality) ? { quality: { suspectPages: suspectPages.length, suspect: suspectPages } } : {};
  const finished = await finishJob(
    { jobs: deps.jobs, js: deps.js, metrics: deps.metrics },
    job.id,
    (s) => ({
      ...s,
      status,
      pages: { total: s.pages.total, done, failed },
      ...quality,
      pageDetails: details,
      result: keys,
      ...(status === 'failed' ? { error: records[0]?.error ?? { code: 'FOLIO_ENGINE_FAILED', message: 'Every page failed' } } : {}),
    }),
    assembling,
  );
  if (finished) {
    if (status === 'completed') await rememberJob(deps.cache, cacheKey(job.tenant, job.source.sha256, job.options), job.id);
    deps.metrics.jobsFinished.inc({ status });
    deps.log.info({ jobId: job.id, status, done, failed }, 'job finished');
  }
}

/** Each page for the job status: engine, error, the kept answer's quality summary, and the tries when there was more than one. */
function pageDetails(records: PageRecord[], results: Map<number, PageResult>): PageSummary[] {
  return records.map((r) => {
    const res = results.get(r.page);
    const q = res?.quality;
    const attempts = r.attempts ?? res?.attempts;
    return {
      page: r.page,
      status: r.status,
      engine: r.engine,
      error: r.error,
      ...(q
        ? {
            quality: {
              ...(q.confidence !== undefined ? { confidence: q.confidence } : {}),
              repetition: q.repetition,
              truncated: q.truncated,
              suspect: q.suspect,
              reasons: q.reasons,
            },
          }
        : {}),
      ...(attempts ? { attempts } : {}),
    };
  });
}

/**
 * A page result that failed every allowed attempt (a result that cannot be read, a document that
 * cannot be assembled): the job fails with a code instead of being retried forever.
 */
export function createAssembleGiveUp(deps: AssemblerDeps) {
  return async (msg: PageOutcome, err: FolioError): Promise<void> => {
    deps.log.error({ jobId: msg.jobId, page: msg.page, code: err.code, err: err.message }, 'assembly given up');
    const finished = await finishJob({ jobs: deps.jobs, js: deps.js, metrics: deps.metrics }, msg.jobId, (s) => ({
      ...s,
      status: 'failed',
      error: { code: 'FOLIO_ASSEMBLY_FAILED', message: `The document could not be assembled (${publicError(err).message})` },
    })).catch((e) => {
      // The job is gone (deleted, expired): nothing left to end.
      if (e instanceof FolioError && e.code === 'FOLIO_JOB_NOT_FOUND') return null;
      throw e;
    });
    if (finished) deps.metrics.jobsFinished.inc({ status: 'failed' });
  };
}
