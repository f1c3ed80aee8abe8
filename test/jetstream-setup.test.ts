import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { setupJetStream, publishJobEvent, type JetStreamSettings, type JobStatus, Buckets, Consumers, Streams, Subjects } from '../shared/bus/index.ts';
import { createNatsBlobStore } from '../shared/stores/index.ts';
import { startNats, type TestNats } from './helpers/nats-server.ts';

let nats: TestNats;
let nc: NatsConnection;
const base: JetStreamSettings = {
  ackWaitMs: 5000,
  maxAckPending: 100,
  resultTtlS: 3600,
  rateLimitWindowS: 60,
  replicas: 1,
  duplicateWindowS: 600,
  manage: true,
};
const seconds = (ns: number) => ns / 1e9;

before(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});
after(async () => {
  await nc?.close();
  await nats?.destroy();
});

test('every work stream has the configured duplicate window, and consumers have no delivery limit (the loop counts attempts)', async () => {
  const bus = await setupJetStream(nc, base);
  for (const name of [Streams.jobs, Streams.pages, Streams.pageResults, Streams.events]) {
    const info = await bus.jsm.streams.info(name);
    assert.equal(seconds(info.config.duplicate_window), 600, name);
    assert.equal(info.config.num_replicas, 1, name);
  }
  for (const [stream, durable] of [
    [Streams.jobs, Consumers.rasterizer],
    [Streams.pageResults, Consumers.assembler],
  ]) {
    assert.equal((await bus.jsm.consumers.info(stream, durable)).config.max_deliver, -1, durable);
  }
});

test('a job event published again (a retry after a lost ack) reaches core subscribers once, and only as the stream stored it', async () => {
  const bus = await setupJetStream(nc, base);
  const heard: string[] = [];
  const sub = nc.subscribe(Subjects.allEvents, { callback: (_e, m) => void heard.push(`${m.subject} seq ${m.headers?.get('Nats-Sequence')}`) });
  await nc.flush();
  const status = { id: 'job-twice', tenant: 'acme', status: 'completed' } as JobStatus;
  await publishJobEvent(bus.js, status);
  await publishJobEvent(bus.js, status);
  await nc.flush();
  await new Promise((r) => setTimeout(r, 300));
  sub.unsubscribe();
  const seq = (await bus.jsm.streams.getMessage(Streams.events, { last_by_subj: Subjects.eventLog('acme', 'job-twice', 'completed') }))?.seq;
  assert.deepEqual(heard, [`${Subjects.event('acme', 'job-twice', 'completed')} seq ${seq}`]);
});

test('a changed setting updates existing streams, KV buckets and the object store in place (kvm.create alone would keep the old ones)', async () => {
  await setupJetStream(nc, base);
  await createNatsBlobStore(nc, Buckets.blobs, 3600);
  const bus = await setupJetStream(nc, { ...base, resultTtlS: 7200, duplicateWindowS: 300 });
  await createNatsBlobStore(nc, Buckets.blobs, 7200);

  assert.equal(seconds((await bus.jsm.streams.info(Streams.pages)).config.duplicate_window), 300);
  assert.equal(seconds((await bus.jsm.streams.info(Streams.events)).config.max_age), 7200);
  assert.equal(seconds((await bus.jsm.streams.info(`KV_${Buckets.jobs}`)).config.max_age), 7200);
  assert.equal(seconds((await bus.jsm.streams.info(`OBJ_${Buckets.blobs}`)).config.max_age), 7200);
  // The rate-limit bucket follows its own window, not the result TTL.
  assert.equal(seconds((await bus.jsm.streams.info(`KV_${Buckets.rateLimit}`)).config.max_age), 120);
});

test("the duplicate window never exceeds a stream's max age (nats-server refuses that)", async () => {
  const bus = await setupJetStream(nc, { ...base, resultTtlS: 120, duplicateWindowS: 600 });
  assert.equal(seconds((await bus.jsm.streams.info(Streams.events)).config.duplicate_window), 120);
});

test('a service that may not manage resources finds them without changing them', async () => {
  const bus = await setupJetStream(nc, { ...base, manage: false, duplicateWindowS: 30 });
  assert.notEqual(seconds((await bus.jsm.streams.info(Streams.pages)).config.duplicate_window), 30);
  assert.ok(await bus.jobs.status());
});

test('many services setting up at once all succeed (creation races are reconciled)', async () => {
  const fresh = await startNats();
  const conns = await Promise.all(Array.from({ length: 4 }, () => connect({ servers: fresh.url })));
  try {
    await Promise.all(conns.map((c) => setupJetStream(c, base)));
  } finally {
    await Promise.all(conns.map((c) => c.close()));
    await fresh.destroy();
  }
});
