import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { awaitStream, ensureConsumer, ensureStream, dropConsumer, nanos, type ConsumerWant, type StreamWant } from './jetstream-resources.ts';
import { Buckets, Consumers, Streams, Subjects, type Priority } from './subjects.ts';
import type { NatsAuth } from '../config/nats-auth.ts';
import type { JetStreamOptions } from '../config/load.ts';

export interface JetStreamSettings {
  ackWaitMs: number;
  maxAckPending: number;
  resultTtlS: number;
  rateLimitWindowS: number;
  /** Replicas of every stream, KV bucket and object store (1 on one machine, 3 on a cluster). */
  replicas: number;
  /** How long a repeated Nats-Msg-Id is dropped: must outlast a redelivered handler's republish. */
  duplicateWindowS: number;
  /** False for a NATS user that may not create resources: look them up, waiting until they exist. */
  manage: boolean;
}

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  jobs: KV;
  cache: KV;
  rateLimit: KV;
  quota: KV;
  settings: JetStreamSettings;
}

export async function connectNats(url: string, name: string, auth?: NatsAuth): Promise<NatsConnection> {
  // Reconnect forever: a service outlives a NATS restart instead of exiting with work in flight.
  // Credentials and this user's own inbox prefix (nats.conf allows each user only its own) come from
  // configuration (shared/config/nats-auth.ts). noAsyncTraces: async stack traces cost ~13% CPU (PLATFORM.md).
  return connect({ servers: url.split(','), name, maxReconnectAttempts: -1, reconnectTimeWait: 500, noAsyncTraces: true, ...auth?.connectOptions() });
}

/** How long a service without management rights waits for the resources at start-up. */
const LOOKUP_TIMEOUT_MS = 60_000;

function streamsOf(s: JetStreamSettings): StreamWant[] {
  const dupWindow = nanos(Math.min(s.duplicateWindowS, s.resultTtlS) * 1000);
  const common = { storage: StorageType.File, num_replicas: s.replicas, duplicate_window: dupWindow };
  const workQueue = { ...common, retention: RetentionPolicy.Workqueue };
  return [
    { name: Streams.jobs, subjects: [Subjects.allJobsSubmitted], ...workQueue },
    { name: Streams.pages, subjects: [Subjects.allPagesReady], ...workQueue },
    { name: Streams.pageResults, subjects: [...Subjects.allPageResults], ...workQueue },
    {
      name: Streams.events,
      subjects: [Subjects.allEventLog],
      // Subscribers hear an event only once it is stored, and a deduplicated repeat not at all.
      republish: { src: Subjects.allEventLog, dest: Subjects.allEvents },
      ...common,
      retention: RetentionPolicy.Limits,
      max_age: nanos(s.resultTtlS * 1000),
    },
  ];
}

/** The durable consumers that exist whatever the tenants; OCR's per-tenant ones are made on demand. */
const fixedConsumers = (s: JetStreamSettings): Array<[string, ConsumerWant]> => [
  [Streams.jobs, { durable: Consumers.rasterizer, filter: Subjects.allJobsSubmitted, ackWaitMs: s.ackWaitMs, maxAckPending: s.maxAckPending }],
  [Streams.pageResults, { durable: Consumers.assembler, filter: '>', ackWaitMs: s.ackWaitMs, maxAckPending: s.maxAckPending }],
];

/** Consumers of the previous subject layout (one OCR consumer per priority for every tenant). */
const RETIRED_CONSUMERS: Array<[string, string]> = [
  [Streams.pages, 'ocr-interactive'],
  [Streams.pages, 'ocr-batch'],
];

/** Idle per-tenant OCR consumers are removed by the server after this long. */
const TENANT_CONSUMER_INACTIVE_S = 3600;

/** The durable consumer through which the OCR service pulls one tenant's pages of one priority. */
export async function ensureTenantPageConsumer(jsm: JetStreamManager, s: JetStreamSettings, priority: Priority, tenant: string): Promise<string> {
  const durable = Consumers.ocr(priority, tenant);
  await ensureConsumer(jsm, Streams.pages, {
    durable,
    filter: Subjects.pagesOfTenant(priority, tenant),
    ackWaitMs: s.ackWaitMs,
    maxAckPending: s.maxAckPending,
    inactiveS: TENANT_CONSUMER_INACTIVE_S,
  });
  return durable;
}

async function bucket(kvm: Kvm, jsm: JetStreamManager, s: JetStreamSettings, name: string, ttlMs: number): Promise<KV> {
  if (!s.manage) {
    await awaitStream(jsm, `KV_${name}`, LOOKUP_TIMEOUT_MS);
    return kvm.open(name);
  }
  const kv = await kvm.create(name, { history: 1, ttl: ttlMs, replicas: s.replicas });
  // kvm.create keeps an existing bucket's settings as they were: bring them up to date.
  await ensureStream(jsm, { name: `KV_${name}`, num_replicas: s.replicas, max_age: nanos(ttlMs), max_msgs_per_subject: 1 });
  return kv;
}

/**
 * Creates (or brings up to date) every stream, durable consumer and KV bucket of the design.
 * Safe to call from every service at start-up, concurrently. Works on nats-server 2.9.
 */
export async function setupJetStream(nc: NatsConnection, s: JetStreamSettings): Promise<Bus> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  for (const want of streamsOf(s)) {
    if (s.manage) await ensureStream(jsm, want);
    else await awaitStream(jsm, want.name, LOOKUP_TIMEOUT_MS);
  }
  if (s.manage) {
    for (const [stream, c] of fixedConsumers(s)) await ensureConsumer(jsm, stream, c);
    for (const [stream, durable] of RETIRED_CONSUMERS) await dropConsumer(jsm, stream, durable);
  }
  const kvm = new Kvm(js);
  const day = 24 * 3600 * 1000;
  const jobs = await bucket(kvm, jsm, s, Buckets.jobs, s.resultTtlS * 1000);
  const cache = await bucket(kvm, jsm, s, Buckets.cache, s.resultTtlS * 1000);
  const rateLimit = await bucket(kvm, jsm, s, Buckets.rateLimit, s.rateLimitWindowS * 2 * 1000);
  // Pages-per-day counters must outlive their day; in-flight records are removed when jobs end.
  const quota = await bucket(kvm, jsm, s, Buckets.quota, Math.max(2 * day, s.resultTtlS * 1000));
  return { nc, js, jsm, jobs, cache, rateLimit, quota, settings: s };
}

export function jetStreamSettings(c: {
  jetstream: Pick<JetStreamOptions, 'ackWaitMs' | 'maxAckPending' | 'resultTtlS' | 'replicas' | 'duplicateWindowS'>;
  ingest: { rateLimit: { windowS: number } };
  nats: { manage: boolean };
}): JetStreamSettings {
  return {
    ackWaitMs: c.jetstream.ackWaitMs,
    maxAckPending: c.jetstream.maxAckPending,
    resultTtlS: c.jetstream.resultTtlS,
    rateLimitWindowS: c.ingest.rateLimit.windowS,
    replicas: c.jetstream.replicas,
    duplicateWindowS: c.jetstream.duplicateWindowS,
    manage: c.nats.manage,
  };
}
