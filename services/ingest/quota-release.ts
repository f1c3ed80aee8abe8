import { AckPolicy, DeliverPolicy, JetStreamApiError, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../../shared/logger.ts';
import { TerminalStates, type JobState } from '../../shared/messages.ts';
import { Streams, Subjects } from '../../shared/subjects.ts';
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
  try {
    await jsm.consumers.info(Streams.events, QUOTA_CONSUMER);
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError)) throw err;
  }
  // New events only: jobs that ended before the first ingest with quotas held nothing.
  await jsm.consumers
    .add(Streams.events, {
      durable_name: QUOTA_CONSUMER,
      filter_subject: Subjects.allEvents,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      ack_wait: ACK_WAIT_MS * 1_000_000,
      max_deliver: -1,
      max_ack_pending: 1000,
    })
    .catch(async (err) => {
      // Another replica created it in between: fine.
      await jsm.consumers.info(Streams.events, QUOTA_CONSUMER).catch(() => {
        throw err;
      });
    });
}
