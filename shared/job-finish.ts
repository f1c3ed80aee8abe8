import type { JetStreamClient } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { JobStore } from './job-store.ts';
import { JobEvent, isTerminal, type JobStatus } from './messages.ts';
import type { Metrics } from './metrics.ts';
import { Subjects } from './subjects.ts';
import { injectTrace, tracingEnabled } from './tracing.ts';

type TerminalKind = JobEvent['kind'];

/** Publishes a terminal job's event; the message id makes a repeat (after a crash) a no-op. */
export async function publishJobEvent(js: JetStreamClient, status: JobStatus): Promise<void> {
  if (!isTerminal(status.status)) return;
  const kind = status.status as TerminalKind;
  const event: JobEvent = { v: 1, jobId: status.id, tenant: status.tenant, kind, status };
  // With tracing on, the event carries the job's trace to subscribers (W3C traceparent header).
  const h = tracingEnabled() ? headers() : undefined;
  if (h) injectTrace(h);
  await js.publish(Subjects.event(status.tenant, status.id, kind), JSON.stringify(event), { msgID: `${status.id}.${kind}`, ...(h ? { headers: h } : {}) });
}

/**
 * Moves a job to a terminal state with compare-and-set. Only the writer whose CAS succeeds
 * publishes the completion event, so duplicates and concurrent replicas complete a job once.
 * Resolves to the final status when this call finished the job, else null.
 */
export async function finishJob(
  deps: { jobs: JobStore; js: JetStreamClient; metrics?: Pick<Metrics, 'jobDuration'> },
  jobId: string,
  change: (s: JobStatus) => JobStatus & { status: TerminalKind },
): Promise<JobStatus | null> {
  const now = new Date().toISOString();
  const written = await deps.jobs.update(jobId, (s) => (isTerminal(s.status) ? null : { ...change(s), finishedAt: now }));
  if (written) {
    // End-to-end latency, from the upload's acceptance to the terminal status: observed once per job, by the CAS winner.
    deps.metrics?.jobDuration.observe({ status: written.status }, Math.max(0, Date.parse(now) - Date.parse(written.createdAt)) / 1000);
    await publishJobEvent(deps.js, written);
  }
  return written;
}
