import type { KV } from '@nats-io/kv';
import type { JetStreamManager } from '@nats-io/jetstream';
import { JetStreamApiError } from '@nats-io/jetstream';
import { JobStatus, PageRecord, isTerminal } from '../bus/messages.ts';
import { Buckets, JobKeys } from '../bus/subjects.ts';
import { FolioError } from '../operations/errors.ts';

const CAS_CONFLICT = 10071;
const isConflict = (err: unknown) => err instanceof JetStreamApiError && err.code === CAS_CONFLICT;
const isKeyExists = (err: unknown) => isConflict(err) || (err instanceof Error && /wrong last sequence|key exists/i.test(err.message));
const encode = (v: unknown) => JSON.stringify(v);

/** Job ids we mint (and accept in URLs): they must be valid KV keys and object-key segments. */
export const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A job's status as read, with the KV revision a compare-and-set starts from. */
export interface JobRead {
  status: JobStatus;
  revision: number;
}

/**
 * Job status and per-page terminal records in the jobs KV bucket. Status changes go through
 * compare-and-set so concurrent writers (assembler replicas, a cancel) cannot overwrite each other.
 */
export function createJobStore(kv: KV, jsm: JetStreamManager) {
  // Jobs this process saw running (read or written), with when: isOver(id, maxAgeMs) answers
  // from here within maxAgeMs. A terminal status read or written here removes the entry at once.
  const runningSeen = new Map<string, number>();
  const RUNNING_SEEN_MAX = 4096;

  async function get(jobId: string): Promise<JobRead | null> {
    if (!JOB_ID.test(jobId)) return null;
    const e = await kv.get(JobKeys.status(jobId));
    if (!e || e.operation !== 'PUT' || e.length === 0) {
      runningSeen.delete(jobId);
      return null;
    }
    const status = JobStatus.parse(e.json());
    seen(jobId, status);
    return { status, revision: e.revision };
  }

  function seen(jobId: string, status: JobStatus) {
    if (isTerminal(status.status)) return void runningSeen.delete(jobId);
    runningSeen.delete(jobId); // re-inserted last: the map's order is oldest first
    if (runningSeen.size >= RUNNING_SEEN_MAX) runningSeen.delete(runningSeen.keys().next().value!);
    runningSeen.set(jobId, Date.now());
  }

  /**
   * Applies `change` with CAS, retrying on conflicts; the first attempt starts from `known` (a
   * read the caller just made) instead of reading again. Resolves to what was written with its
   * revision (the next change can start from it), or null when `change` left the job as it was.
   */
  async function change(jobId: string, change: (s: JobStatus) => JobStatus | null, known?: JobRead | null): Promise<JobRead | null> {
    let cur = known ?? undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      cur ??= (await get(jobId)) ?? undefined;
      if (!cur) throw new FolioError('FOLIO_JOB_NOT_FOUND', `Job ${jobId} not found`);
      const next = change(structuredClone(cur.status));
      if (!next) return null;
      next.updatedAt = new Date().toISOString();
      try {
        const revision = await kv.update(JobKeys.status(jobId), encode(JobStatus.parse(next)), cur.revision);
        seen(jobId, next);
        if (isTerminal(next.status)) await kv.purge(JobKeys.active(jobId)).catch(() => {});
        return { status: next, revision };
      } catch (err) {
        if (!isConflict(err)) throw err;
        cur = undefined;
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
      }
    }
    throw new FolioError('FOLIO_INTERNAL', `Too many concurrent updates of job ${jobId}`);
  }

  return {
    get,
    change,

    async create(status: JobStatus): Promise<void> {
      // The sweeper's index of unfinished jobs: it lists these few keys, not every job of the TTL
      // window. Written alongside the status (an index entry without its job is dropped by the sweeper).
      await Promise.all([
        kv.create(JobKeys.status(status.id), encode(JobStatus.parse(status))),
        isTerminal(status.status) ? undefined : kv.put(JobKeys.active(status.id), ''),
      ]);
    },

    /** Ids of jobs not known to have ended (an entry may outlive its job by a crash; the sweeper drops it). */
    async activeJobs(): Promise<string[]> {
      const ids: string[] = [];
      for await (const k of await kv.keys(JobKeys.allActive)) ids.push(k.slice(JobKeys.active('').length));
      return ids;
    },

    async forgetActive(jobId: string): Promise<void> {
      await kv.purge(JobKeys.active(jobId));
    },

    /**
     * Applies `change` with CAS, retrying on conflicts. `change` returns null to leave the job as
     * it is (e.g. already terminal). Resolves to the written status, or null when nothing was written.
     */
    async update(jobId: string, fn: (s: JobStatus) => JobStatus | null): Promise<JobStatus | null> {
      return (await change(jobId, fn))?.status ?? null;
    },

    /** Records a page's terminal state; the first record wins. Resolves false for a duplicate. */
    async recordPage(jobId: string, record: PageRecord): Promise<boolean> {
      try {
        await kv.create(JobKeys.page(jobId, record.page), encode(PageRecord.parse({ ...record, at: record.at ?? new Date().toISOString() })));
        return true;
      } catch (err) {
        if (isKeyExists(err)) return false;
        throw err;
      }
    },

    async pageRecords(jobId: string): Promise<PageRecord[]> {
      const keys: string[] = [];
      for await (const k of await kv.keys(JobKeys.pagesOf(jobId))) keys.push(k);
      const records = await Promise.all(keys.map(async (k) => (await kv.get(k))?.json()));
      return records
        .filter((r) => r)
        .map((r) => PageRecord.parse(r))
        .sort((a, b) => a.page - b.page);
    },

    /** How many pages have a terminal record: one stream-info request, no per-job hot key. */
    async countFinishedPages(jobId: string): Promise<number> {
      const info = await jsm.streams.info(`KV_${Buckets.jobs}`, { subjects_filter: `$KV.${Buckets.jobs}.${JobKeys.pagesOf(jobId)}` });
      return Object.keys(info.state.subjects ?? {}).length;
    },

    /** True when no stage should work on the job any more: cancelled, already ended, or deleted. */
    async isOver(jobId: string, maxAgeMs = 0): Promise<boolean> {
      // A job seen running within maxAgeMs is taken as still running: a cancel reaches this stage
      // that much later, and a many-page job costs one read per maxAgeMs instead of one per page.
      const seen = runningSeen.get(jobId);
      if (maxAgeMs > 0 && seen !== undefined && Date.now() - seen < maxAgeMs) return false;
      const cur = await get(jobId);
      return !cur || isTerminal(cur.status.status);
    },

    async remove(jobId: string): Promise<void> {
      runningSeen.delete(jobId);
      // Page records and the rasterizer's progress mark: every key under the job's id.
      for await (const k of await kv.keys(`${JobKeys.status(jobId)}.>`)) await kv.purge(k);
      await kv.purge(JobKeys.status(jobId));
      await kv.purge(JobKeys.active(jobId));
    },
  };
}

export type JobStore = ReturnType<typeof createJobStore>;
