import type { JetStreamManager } from '@nats-io/jetstream';
import { isTerminal, type JobStatus, selectPages, Subjects } from '../../shared/bus/index.ts';
import { assembleJob, type AssemblerDeps } from './handler.ts';

export interface SweeperDeps extends AssemblerDeps {
  jsm: JetStreamManager;
  stuckAfterMs: number;
}

/** True while any work stream still holds a message of the job: its consumers will end it (attempt budgets). */
async function hasWorkWaiting(jsm: JetStreamManager, jobId: string): Promise<boolean> {
  for (const [stream, filter] of Subjects.workOfJob(jobId)) {
    const info = await jsm.streams.info(stream, { subjects_filter: filter });
    if (Object.keys(info.state.subjects ?? {}).length > 0) return true;
  }
  return false;
}

/**
 * A job is stuck when it is not terminal, nothing has changed for stuckAfterMs, and no work stream
 * holds a message of it (a job waiting behind a large batch has messages waiting: not stuck).
 * Its missing pages are recorded as failed (FOLIO_STALLED) and it is assembled as usual, so it
 * ends partial or failed with the same exactly-once completion as any other job.
 */
export async function endIfStuck(deps: SweeperDeps, job: JobStatus, now = Date.now()): Promise<boolean> {
  if (isTerminal(job.status) || now - Date.parse(job.updatedAt) < deps.stuckAfterMs) return false;
  const records = await deps.jobs.pageRecords(job.id);
  const lastRecord = Math.max(0, ...records.map((r) => Date.parse(r.at ?? '') || 0));
  if (now - lastRecord < deps.stuckAfterMs) return false;
  if (await hasWorkWaiting(deps.jsm, job.id)) return false;

  const recorded = new Set(records.map((r) => r.page));
  const selected = selectPages(job.options.pages, job.source.pageCount ?? job.pages.total);
  for (const page of selected.filter((p) => !recorded.has(p))) {
    await deps.jobs.recordPage(job.id, {
      page,
      status: 'failed',
      error: { code: 'FOLIO_STALLED', message: 'The page made no progress and had no work waiting' },
    });
  }
  deps.log.warn({ jobId: job.id, status: job.status, missing: selected.length - recorded.size }, 'stuck job ended by the sweeper');
  await assembleJob(deps, job);
  return true;
}

/** One pass over the unfinished jobs (the jobs bucket's `active.*` index, not every job kept for the TTL). */
export async function sweepOnce(deps: SweeperDeps): Promise<number> {
  let ended = 0;
  for (const id of await deps.jobs.activeJobs()) {
    let cur: Awaited<ReturnType<SweeperDeps['jobs']['get']>>;
    try {
      cur = await deps.jobs.get(id);
    } catch {
      continue; // NATS trouble: the next pass looks again.
    }
    if (!cur || isTerminal(cur.status.status)) {
      // Its end was written but the index entry outlived it (a crash in between), or the job expired.
      await deps.jobs.forgetActive(id);
      continue;
    }
    if (await endIfStuck(deps, cur.status)) ended++;
  }
  return ended;
}

/** Runs sweepOnce every intervalMs; passes never overlap. */
export function startSweeper(deps: SweeperDeps, intervalMs: number): { stop(): void } {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      await sweepOnce(deps);
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, 'sweep failed; next pass retries');
    } finally {
      busy = false;
    }
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
