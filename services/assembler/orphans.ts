import type { BlobStore, JobStore } from '../../shared/stores/index.ts';
import type { Logger } from '../../shared/operations/index.ts';
import { BlobKeys } from '../../shared/bus/index.ts';

export interface OrphanSweepDeps {
  blobs: BlobStore;
  jobs: JobStore;
  log: Logger;
}

/** Objects are written just before their job's status exists (ingest stores the source first): leave young ones alone. */
export const ORPHAN_GRACE_MS = 10 * 60_000;

/**
 * Removes the objects of jobs that no longer exist: a job whose status expired (S3 has no TTL of
 * its own unless a lifecycle rule is supported) or was deleted while a stage was still writing
 * (a page result stored after the DELETE). Resolves to the job ids whose objects were removed.
 */
export async function sweepOrphans(deps: OrphanSweepDeps, graceMs = ORPHAN_GRACE_MS, now = Date.now()): Promise<string[]> {
  const newest = new Map<string, number>();
  for (const root of BlobKeys.roots) {
    for (const { key, modified } of await deps.blobs.list(root)) {
      const jobId = key.slice(root.length).split('/')[0];
      newest.set(jobId, Math.max(newest.get(jobId) ?? 0, modified.getTime()));
    }
  }
  const removed: string[] = [];
  for (const [jobId, at] of newest) {
    if (now - at < graceMs || (await deps.jobs.get(jobId))) continue;
    await deps.blobs.deletePrefixes(BlobKeys.jobPrefix(jobId));
    removed.push(jobId);
  }
  if (removed.length > 0) deps.log.info({ jobs: removed.length }, 'removed objects of jobs that no longer exist');
  return removed;
}
