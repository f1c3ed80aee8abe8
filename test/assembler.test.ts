import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../shared/config/index.ts';
import { createRuntime, type Runtime } from '../shared/operations/index.ts';
import { type JobStatus, type PageDone, type PageFailed, type PageResult, BlobKeys, Subjects, publishJobEvent } from '../shared/bus/index.ts';
import { startAssembler } from '../services/assembler/service.ts';
import { startNats, type TestNats } from './helpers/nats-server.ts';

let nats: TestNats;
let rt: Runtime;
const stops: Array<{ stop(): Promise<void> }> = [];

before(async () => {
  nats = await startNats();
  rt = await createRuntime(loadConfig({ NATS_URL: nats.url, LOG_LEVEL: 'silent', FOLIO_ACK_WAIT_MS: '2000' }), 'assembler-test', nats.url);
  // Two assembler replicas compete for the same page results.
  stops.push(startAssembler(rt), startAssembler(rt));
});
after(async () => {
  for (const s of stops) await s.stop();
  await rt?.bus.nc.drain();
  await nats?.destroy();
});

async function newJob(pages: number): Promise<string> {
  const id = randomUUID();
  const now = new Date().toISOString();
  const status: JobStatus = {
    v: 1,
    id,
    tenant: 'default',
    status: 'ocr',
    priority: 'batch',
    createdAt: now,
    updatedAt: now,
    source: { name: 'x.pdf', mediaType: 'application/pdf', bytes: 1, sha256: 'x', pageCount: pages },
    options: { dpi: 144, task: 'markdown', engine: 'auto', textLayer: 'auto', separator: 'rule', furniture: 'drop', cache: 'use' },
    pages: { total: pages, done: 0, failed: 0 },
  };
  await rt.jobs.create(status);
  return id;
}

async function pageDone(id: string, page: number, count: number, msgId = `${id}.${page}.done`) {
  const result: PageResult = { page, width: 100, height: 100, engine: 'test', markdown: `text of page ${page}`, blocks: [], raw: '', ms: 1 };
  const resultKey = BlobKeys.pageResult(id, page);
  await rt.blobs.put(resultKey, Buffer.from(JSON.stringify(result)), 'application/json');
  const msg: PageDone = { v: 1, jobId: id, tenant: 'default', page, count, resultKey, engine: 'test' };
  await rt.bus.js.publish(Subjects.pageDone('default', id), JSON.stringify(msg), { msgID: msgId });
}

async function pageFailed(id: string, page: number, count: number) {
  const msg: PageFailed = { v: 1, jobId: id, tenant: 'default', page, count, error: { code: 'FOLIO_ENGINE_TIMEOUT', message: 'too slow' } };
  await rt.bus.js.publish(Subjects.pageFailed('default', id), JSON.stringify(msg), { msgID: `${id}.${page}.failed` });
}

async function terminal(id: string): Promise<JobStatus> {
  for (let i = 0; i < 200; i++) {
    const s = (await rt.jobs.get(id))!.status;
    if (['completed', 'partial', 'failed'].includes(s.status)) return s;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('job did not finish');
}

function collectEvents(id: string) {
  const events: string[] = [];
  const sub = rt.bus.nc.subscribe(`folio.events.default.${id}.*`, { callback: (_e, m) => void events.push(m.subject.split('.').at(-1)!) });
  return { events, stop: () => sub.unsubscribe() };
}

test('duplicate page results from two replicas complete the job once, with one event', async () => {
  const id = await newJob(3);
  const ev = collectEvents(id);
  for (const page of [1, 2, 3]) {
    // Distinct message ids defeat stream dedupe, as a redelivery after ack loss would.
    await pageDone(id, page, 3, `${id}.${page}.a`);
    await pageDone(id, page, 3, `${id}.${page}.b`);
  }
  const s = await terminal(id);
  await new Promise((r) => setTimeout(r, 300));
  ev.stop();
  assert.equal(s.status, 'completed');
  assert.deepEqual(s.pages, { total: 3, done: 3, failed: 0 });
  assert.deepEqual(ev.events, ['completed']);
  const md = (await rt.blobs.get(s.result!.markdown)).toString();
  assert.equal(md.match(/text of page/g)?.length, 3, 'each page once in document.md');
  assert.ok(md.indexOf('page 1') < md.indexOf('page 2') && md.indexOf('page 2') < md.indexOf('page 3'));
});

test('a job with some failed pages ends partial, keeping the good pages and naming the failure', async () => {
  const id = await newJob(3);
  const ev = collectEvents(id);
  await pageDone(id, 1, 3);
  await pageFailed(id, 2, 3);
  await pageDone(id, 3, 3);
  const s = await terminal(id);
  await new Promise((r) => setTimeout(r, 200));
  ev.stop();
  assert.equal(s.status, 'partial');
  assert.deepEqual(s.pages, { total: 3, done: 2, failed: 1 });
  assert.equal(s.pageDetails?.find((p) => p.page === 2)?.error?.code, 'FOLIO_ENGINE_TIMEOUT');
  assert.deepEqual(ev.events, ['partial']);
  const doc = JSON.parse((await rt.blobs.get(s.result!.json)).toString());
  assert.deepEqual(
    doc.pages.map((p: { status: string }) => p.status),
    ['done', 'failed', 'done'],
  );
});

test('a job whose every page failed ends failed with an error', async () => {
  const id = await newJob(2);
  await pageFailed(id, 1, 2);
  await pageFailed(id, 2, 2);
  const s = await terminal(id);
  assert.equal(s.status, 'failed');
  assert.equal(s.error?.code, 'FOLIO_ENGINE_TIMEOUT');
});

test('a late result for a cancelled job is dropped', async () => {
  const id = await newJob(1);
  const ev = collectEvents(id);
  // Cancelled a while ago, and its event is out (as ingest's cancel does it).
  const cancelled = await rt.jobs.update(id, (s) => ({ ...s, status: 'cancelled', finishedAt: new Date(Date.now() - 60_000).toISOString() }));
  await publishJobEvent(rt.bus.js, cancelled!);
  await pageDone(id, 1, 1);
  await new Promise((r) => setTimeout(r, 500));
  ev.stop();
  assert.equal((await rt.jobs.get(id))!.status.status, 'cancelled');
  const info = await rt.bus.jsm.consumers.info('FOLIO_PAGE_RESULTS', 'assembler');
  assert.equal(info.num_pending + info.num_ack_pending, 0, 'the message was consumed, not left behind');
  assert.deepEqual(ev.events, ['cancelled'], 'the late result announces nothing again');
});

test('results arriving after a crash between the end and its event announce the job exactly once', async () => {
  const id = await newJob(1);
  const ev = collectEvents(id);
  // The writer that ended the job died before publishing its event.
  await rt.jobs.update(id, (s) => ({ ...s, status: 'completed', finishedAt: new Date(Date.now() - 60_000).toISOString() }));
  // Its page result comes back (redelivery), twice over, to two assembler replicas.
  await pageDone(id, 1, 1, `${id}.1.a`);
  await pageDone(id, 1, 1, `${id}.1.b`);
  const until = Date.now() + 10_000;
  while (ev.events.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1000));
  ev.stop();
  assert.deepEqual(ev.events, ['completed'], 'one event on the subject, not one per redelivery');
});
