import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';

/**
 * Idempotent creation and reconciliation of JetStream resources. Every service may call these at
 * start-up, concurrently; a resource that exists with other settings (a new replica count, TTL or
 * duplicate window) is updated in place, which nats.js's own `Kvm.create` does not do.
 */

export const nanos = (ms: number) => ms * 1_000_000;

/** Settings of a stream that may change after creation and are therefore reconciled. */
type Mutable = Pick<StreamConfig, 'subjects' | 'num_replicas' | 'duplicate_window' | 'max_age' | 'max_msgs_per_subject'>;
export type StreamWant = Partial<StreamConfig> & { name: string };

const isApiError = (err: unknown, ...codes: number[]) => err instanceof JetStreamApiError && (codes.length === 0 || codes.includes(err.code));
const STREAM_NAME_IN_USE = 10058;
const CONSUMER_EXISTS = [10148, 10013];

function drift(have: StreamConfig, want: StreamWant): Partial<Mutable> {
  const changed: Partial<Mutable> = {};
  if (want.subjects && [...want.subjects].sort().join() !== [...(have.subjects ?? [])].sort().join()) changed.subjects = want.subjects;
  for (const k of ['num_replicas', 'duplicate_window', 'max_age', 'max_msgs_per_subject'] as const) {
    if (want[k] !== undefined && want[k] !== have[k]) (changed as Record<string, unknown>)[k] = want[k];
  }
  return changed;
}

/** Creates the stream, or updates what drifted from `want`. */
export async function ensureStream(jsm: JetStreamManager, want: StreamWant): Promise<void> {
  const have = await jsm.streams.info(want.name).catch((err) => {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return null;
    throw err;
  });
  if (!have) {
    try {
      await jsm.streams.add(want);
      return;
    } catch (err) {
      // Another replica created it between our info and add: reconcile against what it made.
      if (!isApiError(err, STREAM_NAME_IN_USE)) throw err;
      return ensureStream(jsm, want);
    }
  }
  const changed = drift(have.config, want);
  if (Object.keys(changed).length > 0) await jsm.streams.update(want.name, changed);
}

/** Waits (up to timeoutMs) for a stream someone else manages; for users without the right to create it. */
export async function awaitStream(jsm: JetStreamManager, name: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await jsm.streams.info(name);
      return;
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound) || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export interface ConsumerWant {
  durable: string;
  filter: string;
  ackWaitMs: number;
  maxAckPending: number;
  /** Seconds without a pull after which the server removes the consumer (0 = never). */
  inactiveS?: number;
  /** Only messages stored after the consumer is created (e.g. job ends from before a feature was on are not acted on late). */
  deliverNew?: boolean;
}

/**
 * A durable pull consumer with explicit acks and no delivery limit: the consumer loop counts
 * attempts against its own budget, so a process that dies on the last attempt cannot strand a
 * message (JetStream's max_deliver would silently stop redelivering it).
 */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, c: ConsumerWant): Promise<void> {
  const cfg: Partial<ConsumerConfig> = {
    durable_name: c.durable,
    filter_subject: c.filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: c.deliverNew ? DeliverPolicy.New : DeliverPolicy.All,
    ack_wait: nanos(c.ackWaitMs),
    max_deliver: -1,
    max_ack_pending: c.maxAckPending,
    ...(c.inactiveS ? { inactive_threshold: nanos(c.inactiveS * 1000) } : {}),
  };
  try {
    await jsm.consumers.add(stream, cfg);
  } catch (err) {
    if (!isApiError(err, ...CONSUMER_EXISTS)) throw err;
    await jsm.consumers.update(stream, c.durable, cfg);
  }
}

/** Removes a consumer if it exists (consumers of a previous subject layout). */
export async function dropConsumer(jsm: JetStreamManager, stream: string, durable: string): Promise<void> {
  await jsm.consumers.delete(stream, durable).catch((err) => {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound, JetStreamApiCodes.StreamNotFound)) throw err;
  });
}
