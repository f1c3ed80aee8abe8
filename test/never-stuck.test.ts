import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { makePdf } from './helpers/make-pdf.ts';
import { startNats, type TestNats } from './helpers/nats-server.ts';
import { startServiceProcess, type ServiceProcess } from './helpers/service-process.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';
import { loadConfig } from '../shared/config/index.ts';
import { createRuntime, type Runtime, createLogger, createMetrics } from '../shared/operations/index.ts';
import { type JobStatus, type PageDone, BlobKeys, Subjects } from '../shared/bus/index.ts';
import { endIfStuck, sweepOnce } from '../services/assembler/sweeper.ts';

const pdf = (pages: number) => makePdf(Array.from({ length: pages }, (_, i) => `page ${i + 1}`));

/** Counts terminal events per job on the events subjects. */
function countEvents(stack: TestStack) {
  const counts = new Map<string, number>();
  const sub = stack.rt.bus.nc.subscribe(Subjects.allEvents);
  void (async () => {
    for await (const m of sub) {
      const [, , , jobId, kind] = m.subject.split('.');
      if (kind !== 'progress') counts.set(jobId, (counts.get(jobId) ?? 0) + 1);
    }
  })();
  return { counts, stop: () => sub.unsubscribe() };
}

describe('a page whose every attempt kills the OCR process (SIGKILL, no chance to nak)', () => {
  let stack: TestStack;
  const ocrProcs: ServiceProcess[] = [];
  let supervising = true;

  before(async () => {
    stack = await startTestStack({ services: ['ingest', 'rasterizer', 'assembler'], env: { FOLIO_MAX_DELIVER: '2' } });
    // A supervisor, as Kubernetes or systemd would be: the OCR process is restarted whenever it dies.
    // One page at a time, so each death takes only page 2's attempt with it (not a neighbour's).
    const env = { ...stack.env, FOLIO_TEST_FAULT: 'ocr:2:exit', FOLIO_OCR_MIN_WINDOW: '1', FOLIO_OCR_MAX_WINDOW: '1', LOG_LEVEL: 'info' };
    void (async () => {
      while (supervising) {
        const p = await startServiceProcess({ service: 'ocr', env, label: `ocr-${ocrProcs.length + 1}` });
        ocrProcs.push(p);
        while (supervising && p.running()) await new Promise((r) => setTimeout(r, 100));
      }
    })();
  });
  after(async () => {
    supervising = false;
    for (const p of ocrProcs) await p.kill();
    await stack?.close();
  });

  test('ends the page failed (FOLIO_ATTEMPTS_EXHAUSTED) after the budget, and the job partial naming it', async () => {
    const events = countEvents(stack);
    const res = await upload(stack.url, '/v1/jobs', pdf(3), { filename: 'three.pdf' });
    assert.equal(res.status, 202);
    const { id } = await res.json();
    const job = await waitForTerminal(stack.url, id, 180_000);
    assert.equal(job.status, 'partial', JSON.stringify({ error: job.error, pages: job.pageDetails }));
    assert.deepEqual(
      job.pageDetails.map((p: { page: number; status: string; error?: { code: string } }) => [p.page, p.status, p.error?.code]),
      [
        [1, 'done', undefined],
        [2, 'failed', 'FOLIO_ATTEMPTS_EXHAUSTED'],
        [3, 'done', undefined],
      ],
    );
    // Two attempts were allowed and each one killed its process; the third delivery failed the page unrun.
    assert.ok(ocrProcs.filter((p) => !p.running()).length >= 2, `OCR processes that died: ${ocrProcs.filter((p) => !p.running()).length}`);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(events.counts.get(id), 1, 'exactly one completion event');
    events.stop();
  });
});

describe('a handler that hangs (never returns, never throws)', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({
      // OCR's step deadline is the engine timeout (3 × 3 s) plus FOLIO_STEP_TIMEOUT_MS; the latter
      // also bounds the rasterizer's steps, whose first page includes starting a renderer process
      // (pdf.js under tsx): 8 s failed the whole document twice beside the CPU-engine test files at
      // load ~7 (job failed, not partial), as 500 ms and 1.5 s engine timeouts had failed the good pages.
      // The hung page waits out two such deadlines; the test mostly sleeps meanwhile.
      env: { FOLIO_TEST_FAULT: 'ocr:2:hang', FOLIO_MAX_DELIVER: '2', FOLIO_STEP_TIMEOUT_MS: '20000', VLLM_TIMEOUT_MS: '3000' },
    });
  });
  after(async () => stack?.close());

  test('passes its step deadline, is retried, and the page ends failed with FOLIO_STEP_TIMEOUT', async () => {
    const res = await upload(stack.url, '/v1/jobs', pdf(3), { filename: 'three.pdf' });
    const { id } = await res.json();
    const job = await waitForTerminal(stack.url, id, 180_000);
    assert.equal(job.status, 'partial', JSON.stringify({ error: job.error, pages: job.pageDetails }));
    const page2 = job.pageDetails.find((p: { page: number }) => p.page === 2);
    assert.equal(page2.status, 'failed');
    assert.equal(page2.error.code, 'FOLIO_STEP_TIMEOUT');
    assert.deepEqual(
      job.pageDetails.filter((p: { status: string }) => p.status === 'done').map((p: { page: number }) => p.page),
      [1, 3],
    );
  });
});

describe('the sweeper and the assembler budget', () => {
  let nats: TestNats;
  let rt: Runtime;
  const log = createLogger('test', 'silent');

  before(async () => {
    nats = await startNats();
    rt = await createRuntime(
      loadConfig({ NATS_URL: nats.url, LOG_LEVEL: 'silent', FOLIO_RETRY_BASE_MS: '50', FOLIO_MAX_DELIVER: '2' }),
      'sweeper-test',
      nats.url,
    );
  });
  after(async () => {
    await rt?.bus.nc.drain();
    await nats?.destroy();
  });

  const longAgo = new Date(Date.now() - 3600_000).toISOString();
  const newJob = (status: JobStatus['status'], pages: number): JobStatus => ({
    v: 1,
    id: randomUUID(),
    tenant: 't1',
    status,
    source: { name: 'x.pdf', mediaType: 'application/pdf', bytes: 1, sha256: 'x', pageCount: pages },
    options: { dpi: 144, task: 'markdown', engine: 'auto', textLayer: 'auto', separator: 'rule', furniture: 'drop', cache: 'use' },
    priority: 'batch',
    pages: { total: pages, done: 0, failed: 0 },
    createdAt: longAgo,
    updatedAt: longAgo,
  });
  const deps = () => ({
    js: rt.bus.js,
    jsm: rt.bus.jsm,
    cache: rt.bus.cache,
    jobs: rt.jobs,
    blobs: rt.blobs,
    metrics: createMetrics(),
    log,
    stuckAfterMs: 60_000,
  });

  test('a job with no progress and no work waiting anywhere is ended: its missing pages fail with FOLIO_STALLED, one event', async () => {
    const job = newJob('ocr', 3);
    await rt.jobs.create(job);
    const result = { page: 1, width: 10, height: 10, engine: 'test', markdown: 'one', blocks: [], raw: '', ms: 1 };
    await rt.blobs.put(BlobKeys.pageResult(job.id, 1), Buffer.from(JSON.stringify(result)), 'application/json');
    await rt.jobs.recordPage(job.id, { page: 1, status: 'done', engine: 'test', resultKey: BlobKeys.pageResult(job.id, 1), at: longAgo });
    const events: string[] = [];
    const sub = rt.bus.nc.subscribe(Subjects.eventsOfJob(job.tenant, job.id), { callback: (_e, m) => void events.push(m.subject) });

    assert.equal(await sweepOnce(deps()), 1);
    assert.equal(await sweepOnce(deps()), 0, 'a second pass finds nothing left to end');
    const ended = (await rt.jobs.get(job.id))!.status;
    assert.equal(ended.status, 'partial');
    assert.deepEqual(
      ended.pageDetails?.map((p) => [p.page, p.status, p.error?.code]),
      [
        [1, 'done', undefined],
        [2, 'failed', 'FOLIO_STALLED'],
        [3, 'failed', 'FOLIO_STALLED'],
      ],
    );
    await rt.bus.nc.flush();
    assert.deepEqual(events, [Subjects.event(job.tenant, job.id, 'partial')]);
    sub.unsubscribe();
  });

  test('a job whose pages are still waiting in the stream is left alone, however old', async () => {
    const job = newJob('ocr', 1);
    await rt.jobs.create(job);
    await rt.bus.js.publish(Subjects.pageReady('batch', job.tenant, job.id), '{}', { msgID: `${job.id}.1` });
    assert.equal(await endIfStuck(deps(), job), false);
    assert.equal((await rt.jobs.get(job.id))!.status.status, 'ocr');
  });

  test('the sweeper walks only unfinished jobs: an ended job leaves the index, a stale entry is dropped', async () => {
    const ended = newJob('ocr', 1);
    await rt.jobs.create(ended);
    assert.ok((await rt.jobs.activeJobs()).includes(ended.id));
    await rt.jobs.update(ended.id, (st) => ({ ...st, status: 'cancelled' }));
    assert.ok(!(await rt.jobs.activeJobs()).includes(ended.id), 'ending a job removes it from the index');
    // A crash between the end and the index update leaves an entry behind: the next pass drops it.
    await rt.bus.jobs.put(`active.${ended.id}`, '');
    await sweepOnce(deps());
    assert.ok(!(await rt.jobs.activeJobs()).includes(ended.id));
  });

  test('a recent job is not looked at', async () => {
    const job = { ...newJob('rasterizing', 1), updatedAt: new Date().toISOString() };
    await rt.jobs.create(job);
    assert.equal(await endIfStuck(deps(), job), false);
  });

  test('a page result that can never be assembled fails the job (FOLIO_ASSEMBLY_FAILED) instead of being retried forever', async () => {
    const { startAssembler } = await import('../services/assembler/service.ts');
    const job = { ...newJob('ocr', 1), updatedAt: new Date().toISOString() };
    await rt.jobs.create(job);
    // A result object that is not JSON: every attempt to assemble fails the same way.
    await rt.blobs.put(BlobKeys.pageResult(job.id, 1), Buffer.from('not json'), 'application/json');
    const done: PageDone = { v: 1, jobId: job.id, tenant: job.tenant, page: 1, count: 1, resultKey: BlobKeys.pageResult(job.id, 1), engine: 'test' };
    const assembler = startAssembler(rt);
    try {
      await rt.bus.js.publish(Subjects.pageDone(job.tenant, job.id), JSON.stringify(done), { msgID: `${job.id}.1.done` });
      const until = Date.now() + 30_000;
      let status = (await rt.jobs.get(job.id))!.status;
      while (status.status !== 'failed' && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await rt.jobs.get(job.id))!.status;
      }
      assert.equal(status.status, 'failed');
      assert.equal(status.error?.code, 'FOLIO_ASSEMBLY_FAILED');
      assert.doesNotMatch(status.error?.message ?? '', /JSON|Unexpected token/, 'raw exception text stays out of the public error');
    } finally {
      await assembler.stop();
    }
  });
});
