import type { ConsumerMessages, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { ensureConsumer, TerminalStates, type JobState, Streams, Subjects } from '../../shared/bus/index.ts';
import type { Logger } from '../../shared/operations/index.ts';
import type { QuotaStore } from './quota-store.ts';

/** The durable consumer through which ingest replicas, together, see every job end once. */
export const QUOTA_CONSUMER = 'ingest-quota';
const ACK_WAIT_MS = 30_000;
const RETRY_MS = 2_000;

/**
 * Releases a job's quota when it ends. Every terminal job event (`folio.events.<tenant>.<job>.<kind>`,
 * published once per job) goes through one durable consumer shared by all ingest replicas, so each
 * end is handled by one replica; a redelivery (crash before the ack) is harmless because release
 * is idempotent. Runs only when a quota is configured.
 */
export async function startQuotaRelease(deps: { js: JetStreamClient; jsm: JetStreamManager; quota: QuotaStore; log: Logger }): Promise<{ stop(): Promise<void> }> {
  await ensureQuotaConsumer(deps.jsm);
  const consumer = await deps.js.consumers.get(Streams.events, QUOTA_CONSUMER);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 64 });
  const done = (async () => {
    for await (const m of messages) {
      // folio.events.<tenant>.<job>.<kind>
      const [, , tenant, jobId, kind] = m.subject.split('.');
      if (!TerminalStates.includes(kind as JobState) || !tenant || !jobId) {
        m.ack();
        continue;
      }
      try {
        if (await deps.quota.release(tenant, jobId)) deps.log.debug({ tenant, jobId, kind }, 'quota released');
        m.ack();
      } catch (err) {
        deps.log.warn({ err, tenant, jobId }, 'quota release failed; will retry');
        m.nak(RETRY_MS);
      }
    }
  })();
  return {
    async stop() {
      await messages.close().catch(() => {});
      await done.catch(() => {});
    },
  };
}

async function ensureQuotaConsumer(jsm: JetStreamManager) {
  // New events only: jobs that ended before the first ingest with quotas held nothing.
  await ensureConsumer(jsm, Streams.events, { durable: QUOTA_CONSUMER, filter: Subjects.allEvents, ackWaitMs: ACK_WAIT_MS, maxAckPending: 1000, deliverNew: true });
}
