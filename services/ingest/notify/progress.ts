import { KvWatchInclude } from '@nats-io/kv';
import type { ProgressEvent } from '../../../shared/document/index.ts';
import { isTerminal, Subjects } from '../../../shared/bus/index.ts';
import type { IngestDeps } from '../jobs.ts';
import { progressOf } from '../public-job.ts';

const PAGE_KEY = /^([A-Za-z0-9_-]{1,64})\.page\.\d+$/;

/**
 * Per-page progress on NATS without a hook in the pipeline: ingest watches the per-page records
 * the assembler writes (`<job>.page.<n>` in the jobs bucket, updates only) and publishes
 * `folio.events.<tenant>.<job>.progress`, at most once per `intervalMs` per job, only while pages
 * remain (the last page's news is the completion event, so a subscriber taking the first event
 * of a one-page job still gets its end). Replicas each watch; the message id
 * `<job>.progress.<finished>` lets the stream keep one copy.
 */
export async function startProgressEvents(deps: IngestDeps, intervalMs = 1000): Promise<{ stop(): Promise<void> }> {
  const watch = await deps.bus.jobs.watch({ key: '*.page.*', include: KvWatchInclude.UpdatesOnly });
  const pending = new Map<string, NodeJS.Timeout>();
  const lastAt = new Map<string, number>();

  async function publish(jobId: string) {
    pending.delete(jobId);
    lastAt.set(jobId, Date.now());
    const cur = await deps.jobs.get(jobId);
    // A one-page job's only news is its end (the completion event): no count of its records.
    if (!cur || isTerminal(cur.status.status) || cur.status.pages.total <= 1) return lastAt.delete(jobId);
    const s = cur.status;
    const finished = await deps.jobs.countFinishedPages(jobId);
    if (finished >= s.pages.total) return;
    const pages = { total: s.pages.total, done: finished, failed: s.pages.failed };
    const event: ProgressEvent = {
      v: 1,
      jobId,
      tenant: s.tenant,
      kind: 'progress',
      pages,
      at: new Date().toISOString(),
      ...(progressOf({ ...s, pages })?.etaSeconds !== undefined ? { etaSeconds: progressOf({ ...s, pages })!.etaSeconds } : {}),
    };
    await deps.bus.js.publish(Subjects.eventLog(s.tenant, jobId, 'progress'), JSON.stringify(event), { msgID: `${jobId}.progress.${finished}` });
  }

  const done = (async () => {
    for await (const e of watch) {
      const jobId = PAGE_KEY.exec(e.key)?.[1];
      if (!jobId || pending.has(jobId)) continue;
      const wait = Math.max(0, (lastAt.get(jobId) ?? 0) + intervalMs - Date.now());
      pending.set(
        jobId,
        setTimeout(() => void publish(jobId).catch((err) => deps.log.debug({ err, jobId }, 'progress event not published')), wait),
      );
      if (lastAt.size > 10_000) lastAt.clear();
    }
  })();
  return {
    async stop() {
      watch.stop();
      for (const t of pending.values()) clearTimeout(t);
      await done.catch(() => {});
    },
  };
}
