import type { KV } from '@nats-io/kv';
import type { JetStreamManager } from '@nats-io/jetstream';
import { JetStreamApiError } from '@nats-io/jetstream';
import { JobStatus, PageRecord, isTerminal } from './messages.ts';
import { Buckets, JobKeys } from './subjects.ts';
import { FolioError } from './errors.ts';

const CAS_CONFLICT = 10071;
const isConflict = (err: unknown) => err instanceof JetStreamApiError && err.code === CAS_CONFLICT;
const isKeyExists = (err: unknown) => isConflict(err) || (err instanceof Error && /wrong last sequence|key exists/i.test(err.message));
const encode = (v: unknown) => JSON.stringify(v);

/** Job ids we mint (and accept in URLs): they must be valid KV keys and object-key segments. */
export const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Job status and per-page terminal records in the jobs KV bucket. Status changes go through
 * compare-and-set so concurrent writers (assembler replicas, a cancel) cannot overwrite each other.
 */
export function createJobStore(kv: KV, jsm: JetStreamManager) {
  async function get(jobId: string): Promise<{ status: JobStatus; revision: number } | null> {
    if (!JOB_ID.test(jobId)) return null;
    const e = await kv.get(JobKeys.status(jobId));
    if (!e || e.operation !== 'PUT' || e.length === 0) return null;
    return { status: JobStatus.parse(e.json()), revision: e.revision };
  }

  return {
    get,

    async create(status: JobStatus): Promise<void> {
      await kv.create(JobKeys.status(status.id), encode(JobStatus.parse(status)));
      // The sweeper's index of unfinished jobs: it lists these few keys, not every job of the TTL window.
      if (!isTerminal(status.status)) await kv.put(JobKeys.active(status.id), '');
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
    async update(jobId: string, change: (s: JobStatus) => JobStatus | null): Promise<JobStatus | null> {
      for (let attempt = 0; attempt < 50; attempt++) {
        const cur = await get(jobId);
        if (!cur) throw new FolioError('FOLIO_JOB_NOT_FOUND', `Job ${jobId} not found`);
        const next = change(structuredClone(cur.status));
        if (!next) return null;
        next.updatedAt = new Date().toISOString();
        try {
          await kv.update(JobKeys.status(jobId), encode(JobStatus.parse(next)), cur.revision);
          if (isTerminal(next.status)) await kv.purge(JobKeys.active(jobId)).catch(() => {});
          return next;
        } catch (err) {
          if (!isConflict(err)) throw err;
          await new Promise((r) => setTimeout(r, Math.random() * 10 * (attempt + 1)));
        }
      }
      throw new FolioError('FOLIO_INTERNAL', `Too many concurrent updates of job ${jobId}`);
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
    async isOver(jobId: string): Promise<boolean> {
      const cur = await get(jobId);
      return !cur || isTerminal(cur.status.status);
    },

    async remove(jobId: string): Promise<void> {
      // Page records and the rasterizer's progress mark: every key under the job's id.
      for await (const k of await kv.keys(`${JobKeys.status(jobId)}.>`)) await kv.purge(k);
      await kv.purge(JobKeys.status(jobId));
      await kv.purge(JobKeys.active(jobId));
    },
  };
}

export type JobStore = ReturnType<typeof createJobStore>;
