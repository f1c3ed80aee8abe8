import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { FolioError } from '../operations/errors.ts';
import { headers } from '@nats-io/transport-node';
import type { JobRead, JobStore } from '../stores/job-store.ts';
import { JobEvent, isTerminal, type JobStatus } from './messages.ts';
import type { Metrics } from '../operations/metrics.ts';
import { Streams, Subjects } from './subjects.ts';
import { injectTrace, tracingEnabled } from '../operations/tracing.ts';

type TerminalKind = JobEvent['kind'];

/** Publishes a terminal job's event; the message id makes a repeat (after a crash) a no-op. */
export async function publishJobEvent(js: JetStreamClient, status: JobStatus): Promise<void> {
  if (!isTerminal(status.status)) return;
  const kind = status.status as TerminalKind;
  const event: JobEvent = { v: 1, jobId: status.id, tenant: status.tenant, kind, status };
  // With tracing on, the event carries the job's trace to subscribers (W3C traceparent header).
  const h = tracingEnabled() ? headers() : undefined;
  if (h) injectTrace(h);
  await js.publish(Subjects.eventLog(status.tenant, status.id, kind), JSON.stringify(event), { msgID: `${status.id}.${kind}`, ...(h ? { headers: h } : {}) });
}

/** A job's end is normally announced within milliseconds of its CAS by the writer that won it. */
export const EVENT_GRACE_MS = 5_000;

/**
 * For a message that arrives after its job ended (a duplicate, or a redelivery after the writer
 * that ended the job crashed between its CAS and its event): publishes the event only if the
 * events stream does not hold it. The stream drops a repeated message id within its duplicate
 * window and republishes to subscribers only what it stores; a redelivery can come later than
 * that window, so a second publish must not happen. Within EVENT_GRACE_MS of the end the
 * winner may still be publishing: a retryable error brings the message back to look again.
 */
export async function ensureJobEvent(deps: { js: JetStreamClient; jsm: JetStreamManager }, status: JobStatus, now = Date.now()): Promise<void> {
  if (!isTerminal(status.status)) return;
  const subject = Subjects.eventLog(status.tenant, status.id, status.status);
  const published = await deps.jsm.streams.getMessage(Streams.events, { last_by_subj: subject }).then(
    (m) => m !== null && m !== undefined,
    (err) => {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return false;
      throw err;
    },
  );
  if (published) return;
  if (now - Date.parse(status.finishedAt ?? status.updatedAt) < EVENT_GRACE_MS) {
    throw new FolioError('FOLIO_UNAVAILABLE', `Job ${status.id} ended moments ago and its event is not in the stream yet; looking again later`);
  }
  await publishJobEvent(deps.js, status);
}

/**
 * Moves a job to a terminal state with compare-and-set. Only the writer whose CAS succeeds
 * publishes the completion event, so duplicates and concurrent replicas complete a job once.
 * Resolves to the final status when this call finished the job, else null. `known`: the status as
 * the caller just read or wrote it (the CAS starts from it instead of reading again).
 */
export async function finishJob(
  deps: { jobs: JobStore; js: JetStreamClient; metrics?: Pick<Metrics, 'jobDuration'> },
  jobId: string,
  change: (s: JobStatus) => JobStatus & { status: TerminalKind },
  known?: JobRead | null,
): Promise<JobStatus | null> {
  const now = new Date().toISOString();
  const written = (await deps.jobs.change(jobId, (s) => (isTerminal(s.status) ? null : { ...change(s), finishedAt: now }), known))?.status ?? null;
  if (written) {
    // End-to-end latency, from the upload's acceptance to the terminal status: observed once per job, by the CAS winner.
    deps.metrics?.jobDuration.observe({ status: written.status }, Math.max(0, Date.parse(now) - Date.parse(written.createdAt)) / 1000);
    await publishJobEvent(deps.js, written);
  }
  return written;
}
