import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { z } from 'zod';
import { ensureConsumer, runConsumer, Slots, TerminalStates, type JobState, Streams, Subjects, parseEventSubject } from '../../shared/bus/index.ts';
import { FolioError, type Logger } from '../../shared/operations/index.ts';
import type { QuotaStore } from './quota-store.ts';

/** The durable consumer through which ingest replicas, together, see every job end once. */
export const QUOTA_CONSUMER = 'ingest-quota';
const ACK_WAIT_MS = 30_000;
const RETRY_MS = 2_000;
/** Releases are a few KV writes each, and independent: one replica's backlog after an outage drains a few at a time. */
const RELEASE_CONCURRENCY = 4;

/**
 * Releases a job's quota when it ends. Every terminal job event (`folio.events.<tenant>.<job>.<kind>`,
 * published once per job) goes through one durable consumer shared by all ingest replicas, run by
 * the shared consumer loop, so each end is handled by one replica; a redelivery (crash before the
 * ack) is harmless because release is idempotent. Runs only when a quota is configured.
 */
export async function startQuotaRelease(deps: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  quota: QuotaStore;
  log: Logger;
}): Promise<{ stop(): Promise<void> }> {
  await ensureQuotaConsumer(deps.jsm);
  const consumer = runConsumer({
    js: deps.js,
    stream: Streams.events,
    consumers: [QUOTA_CONSUMER],
    // Only ends release anything.
    ignore: (subject) => !jobEnd(subject),
    // The subject names the job; the body is not read.
    schema: z.unknown(),
    handler: async (_body, ctx) => {
      const ended = jobEnd(ctx.subject);
      if (!ended) return;
      const { tenant, jobId, kind } = ended;
      try {
        if (await deps.quota.release(tenant, jobId)) deps.log.debug({ tenant, jobId, kind }, 'quota released');
      } catch (err) {
        // Whatever failed is retried (the loop logs each attempt): a quota held by an ended job would never come back.
        throw new FolioError(
          'FOLIO_UNAVAILABLE',
          `quota release failed for job ${jobId} of ${tenant}: ${(err as Error).message}`,
          { tenant, jobId },
          { cause: err, public: false },
        );
      }
    },
    // Never given up on (no attempt budget, every failure retryable).
    onGiveUp: async () => {},
    maxDeliver: Number.POSITIVE_INFINITY,
    retryDelayMs: () => RETRY_MS,
    slots: new Slots(RELEASE_CONCURRENCY),
    ackWaitMs: ACK_WAIT_MS,
    stepDeadlineMs: ACK_WAIT_MS,
    log: deps.log,
  });
  return { stop: () => consumer.stop() };
}

/** The job a terminal event subject names; null for progress events and anything else. */
function jobEnd(subject: string) {
  const ev = parseEventSubject(subject);
  return ev && TerminalStates.includes(ev.kind as JobState) ? ev : null;
}

async function ensureQuotaConsumer(jsm: JetStreamManager) {
  // New events only: jobs that ended before the first ingest with quotas held nothing.
  await ensureConsumer(jsm, Streams.events, {
    durable: QUOTA_CONSUMER,
    filter: Subjects.allEventLog,
    ackWaitMs: ACK_WAIT_MS,
    maxAckPending: 1000,
    deliverNew: true,
  });
}
