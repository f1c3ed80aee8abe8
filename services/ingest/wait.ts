import { JobEvent, isTerminal, type JobStatus, Subjects } from '../../shared/bus/index.ts';
import type { IngestDeps } from './jobs.ts';

/** The terminal event kinds; `progress` is the only other. */
export const TERMINAL_KINDS = ['completed', 'partial', 'failed', 'cancelled'] as const;

/**
 * Resolves with the job's status once it is terminal, or null after timeoutMs. Like jobs.ts's
 * waitForJob, but listens to the terminal subjects only: progress events
 * (`folio.events.<tenant>.<job>.progress`) share the prefix and are not JobEvents.
 * Subscribes before reading KV so a completion between the two cannot be missed.
 */
export async function waitForEnd(deps: IngestDeps, jobId: string, tenant: string, timeoutMs: number): Promise<JobStatus | null> {
  const subs = TERMINAL_KINDS.map((kind) => deps.bus.nc.subscribe(Subjects.event(tenant, jobId, kind), { max: 1 }));
  let timer: NodeJS.Timeout | undefined;
  try {
    const now = await deps.jobs.get(jobId);
    if (now && isTerminal(now.status.status)) return now.status;
    return await new Promise<JobStatus | null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
      for (const sub of subs) {
        void (async () => {
          for await (const m of sub) {
            const e = JobEvent.safeParse(m.json());
            if (e.success) resolve(e.data.status);
          }
        })();
      }
    });
  } finally {
    clearTimeout(timer);
    for (const s of subs) s.unsubscribe();
  }
}
