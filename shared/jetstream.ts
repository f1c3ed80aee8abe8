import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Buckets, Consumers, Priority, Streams, Subjects } from './subjects.ts';

const nanos = (ms: number) => ms * 1_000_000;

export interface JetStreamSettings {
  ackWaitMs: number;
  maxDeliver: number;
  maxAckPending: number;
  resultTtlS: number;
  rateLimitWindowS: number;
}

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  jobs: KV;
  cache: KV;
  rateLimit: KV;
}

export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  // Reconnect forever: a service outlives a NATS restart instead of exiting with work in flight.
  return connect({ servers: url.split(','), name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
}

async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string }) {
  try {
    await jsm.streams.add(cfg);
  } catch (err) {
    // 10058: exists with another config. Update what may change (subjects, limits) in place.
    if (err instanceof JetStreamApiError && err.code === 10058) {
      const { retention: _r, storage: _s, ...mutable } = cfg;
      await jsm.streams.update(cfg.name, mutable);
      return;
    }
    throw err;
  }
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, durable: string, filter: string, s: JetStreamSettings, maxDeliver = s.maxDeliver) {
  const cfg = {
    durable_name: durable,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(s.ackWaitMs),
    max_deliver: maxDeliver,
    max_ack_pending: s.maxAckPending,
  };
  try {
    await jsm.consumers.add(stream, cfg);
  } catch (err) {
    if (err instanceof JetStreamApiError && (err.code === 10148 || err.code === 10013)) {
      await jsm.consumers.update(stream, durable, cfg);
      return;
    }
    throw err;
  }
}

/**
 * Creates (or brings up to date) every stream, durable consumer and KV bucket of the design.
 * Safe to call from every service at start-up, concurrently. Works on nats-server 2.9.
 */
export async function setupJetStream(nc: NatsConnection, s: JetStreamSettings): Promise<Bus> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const workQueue = { retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window: nanos(120_000) };
  await ensureStream(jsm, { name: Streams.jobs, subjects: [Subjects.jobSubmitted], ...workQueue });
  await ensureStream(jsm, { name: Streams.pages, subjects: Priority.map((p) => Subjects.pageReady(p)), ...workQueue });
  await ensureStream(jsm, { name: Streams.pageResults, subjects: [Subjects.pageDone, Subjects.pageFailed], ...workQueue });
  await ensureStream(jsm, {
    name: Streams.events,
    subjects: [Subjects.allEvents],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(s.resultTtlS * 1000),
  });

  await ensureConsumer(jsm, Streams.jobs, Consumers.rasterizer, Subjects.jobSubmitted, s);
  for (const p of Priority) await ensureConsumer(jsm, Streams.pages, Consumers.ocr[p], Subjects.pageReady(p), s);
  // Page results are never given up on: a lost one would leave its job unfinished forever.
  await ensureConsumer(jsm, Streams.pageResults, Consumers.assembler, '>', s, -1);

  const kvm = new Kvm(js);
  const jobs = await kvm.create(Buckets.jobs, { history: 1, ttl: s.resultTtlS * 1000 });
  const cache = await kvm.create(Buckets.cache, { history: 1, ttl: s.resultTtlS * 1000 });
  const rateLimit = await kvm.create(Buckets.rateLimit, { history: 1, ttl: s.rateLimitWindowS * 2 * 1000 });
  return { nc, js, jsm, jobs, cache, rateLimit };
}

export function jetStreamSettings(c: {
  FOLIO_ACK_WAIT_MS: number;
  FOLIO_MAX_DELIVER: number;
  FOLIO_MAX_ACK_PENDING: number;
  FOLIO_RESULT_TTL_S: number;
  FOLIO_RATE_LIMIT_WINDOW_S: number;
}): JetStreamSettings {
  return {
    ackWaitMs: c.FOLIO_ACK_WAIT_MS,
    maxDeliver: c.FOLIO_MAX_DELIVER,
    maxAckPending: c.FOLIO_MAX_ACK_PENDING,
    resultTtlS: c.FOLIO_RESULT_TTL_S,
    rateLimitWindowS: c.FOLIO_RATE_LIMIT_WINDOW_S,
  };
}
