import type { JetStreamClient } from '@nats-io/jetstream';
import type { JobStore } from './job-store.ts';
import { JobEvent, isTerminal, type JobStatus } from './messages.ts';
import { Subjects } from './subjects.ts';

type TerminalKind = JobEvent['kind'];

/** Publishes a terminal job's event; the message id makes a repeat (after a crash) a no-op. */
export async function publishJobEvent(js: JetStreamClient, status: JobStatus): Promise<void> {
  if (!isTerminal(status.status)) return;
  const kind = status.status as TerminalKind;
  const event: JobEvent = { v: 1, jobId: status.id, tenant: status.tenant, kind, status };
  await js.publish(Subjects.event(status.tenant, status.id, kind), JSON.stringify(event), { msgID: `${status.id}.${kind}` });
}

/**
 * Moves a job to a terminal state with compare-and-set. Only the writer whose CAS succeeds
 * publishes the completion event, so duplicates and concurrent replicas complete a job once.
 * Resolves to the final status when this call finished the job, else null.
 */
export async function finishJob(
  deps: { jobs: JobStore; js: JetStreamClient },
  jobId: string,
  change: (s: JobStatus) => JobStatus & { status: TerminalKind },
): Promise<JobStatus | null> {
  const now = new Date().toISOString();
  const written = await deps.jobs.update(jobId, (s) => (isTerminal(s.status) ? null : { ...change(s), finishedAt: now }));
  if (written) await publishJobEvent(deps.js, written);
  return written;
}
