import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makePdf } from './helpers/make-pdf.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

const png = readFileSync(new URL('./fixtures/english.png', import.meta.url));
let stack: TestStack;

before(async () => {
  stack = await startTestStack({ env: { FOLIO_MAX_DELIVER: '3', VLLM_TIMEOUT_MS: '1500' } });
});
after(async () => {
  await stack?.close();
});

test('transient backend errors (503, malformed answers) are retried and the job completes', async () => {
  stack.sim!.setFaults({ next: ['503', 'malformed'] });
  const res = await upload(stack.url, '/v1/jobs', png);
  const job = await waitForTerminal(stack.url, (await res.json()).id, 60_000);
  assert.equal(job.status, 'completed');
  assert.ok(stack.sim!.stats().faults['503'] >= 1, 'the faults were really served');
});

test('a page that fails on every attempt is reported failed with its code; the job ends failed, not stuck', async () => {
  // Every answer is cut off (finish_reason "length"), even with the cheaper fallback prompt.
  stack.sim!.setFaults({ rates: { length: 1 } });
  try {
    const res = await upload(stack.url, '/v1/jobs', makePdf(['only page']));
    const job = await waitForTerminal(stack.url, (await res.json()).id, 90_000);
    assert.equal(job.status, 'failed');
    assert.equal(job.pages.failed, 1);
    assert.equal(job.pageDetails[0].error.code, 'FOLIO_ENGINE_TRUNCATED');
    assert.equal(job.error.code, 'FOLIO_ENGINE_TRUNCATED');
  } finally {
    stack.sim!.setFaults({});
  }
});

test('while the only backend is down, pages wait in JetStream and complete once it is back', async () => {
  stack.sim!.setFaults({ down: true });
  const res = await upload(stack.url, '/v1/jobs', makePdf(['one', 'two']));
  const { id } = await res.json();
  await new Promise((r) => setTimeout(r, 2500));
  const during = await (await fetch(`${stack.url}/v1/jobs/${id}`)).json();
  assert.ok(!['failed', 'partial'].includes(during.status), `still waiting, not failed: ${during.status}`);
  stack.sim!.setFaults({});
  const job = await waitForTerminal(stack.url, id, 60_000);
  assert.equal(job.status, 'completed');
});

test('a hung backend call times out and the page is retried', async () => {
  stack.sim!.setFaults({ next: ['hang'] });
  const res = await upload(stack.url, '/v1/jobs', png);
  const job = await waitForTerminal(stack.url, (await res.json()).id, 60_000);
  assert.equal(job.status, 'completed');
});
