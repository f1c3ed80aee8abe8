import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makePdf } from './helpers/make-pdf.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

let stack: TestStack;

before(async () => {
  // Pages take 1.5 s on the simulated GPU, so the kill below lands while the job is mid-OCR.
  stack = await startTestStack({ sim: { prefillMs: 1500, msPerToken: 0.1 } });
});
after(async () => {
  await stack?.close();
});

test('a job accepted before nats-server is SIGKILLed still completes after a restart (file storage, reconnecting services)', async () => {
  const res = await upload(stack.url, '/v1/jobs', makePdf(Array.from({ length: 6 }, (_, i) => `restart page ${i + 1}`)));
  assert.equal(res.status, 202);
  const { id } = await res.json();
  const atKill = await waitForState(id, 'ocr', 20_000);
  assert.ok(atKill.pages.done < 6, `the job was still unfinished when NATS died (${atKill.pages.done}/6 pages done)`);
  // A crash, not a shutdown: no flush, no goodbye to clients.
  await stack.nats.stop('SIGKILL');
  await new Promise((r) => setTimeout(r, 1000));
  await stack.nats.start();
  const job = await waitForTerminal(stack.url, id, 60_000);
  assert.equal(job.status, 'completed');
  assert.equal(job.pages.done, 6);
});

test('while NATS is down, ingest answers 503 with a code instead of accepting work it cannot queue', async () => {
  await stack.nats.stop();
  try {
    const ready = await fetch(`${stack.url}/readyz`);
    assert.equal(ready.status, 503);
    const res = await upload(stack.url, '/v1/jobs', makePdf(['x']));
    assert.ok(res.status === 503, `got ${res.status}`);
    assert.equal((await res.json()).error.code, 'FOLIO_UNAVAILABLE');
  } finally {
    await stack.nats.start();
  }
});

/** Polls the job until it reaches `state`; fails on a deadline or on any terminal state first. */
async function waitForState(id: string, state: string, ms: number): Promise<{ status: string; pages: { done: number } }> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const job = await (await fetch(`${stack.url}/v1/jobs/${id}`)).json();
    if (job.status === state) return job;
    assert.ok(!['completed', 'partial', 'failed', 'cancelled'].includes(job.status), `the job ended (${job.status}) before it reached ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} did not reach ${state} within ${ms} ms`);
}
