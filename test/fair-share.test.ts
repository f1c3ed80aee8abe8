import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makePdf } from './helpers/make-pdf.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
const A = { authorization: 'Bearer key-of-tenant-a-0123456789' };
const B = { authorization: 'Bearer key-of-tenant-b-0123456789' };

before(async () => {
  stack = await startTestStack({
    env: { FOLIO_API_KEYS: 'tenanta=key-of-tenant-a-0123456789,tenantb=key-of-tenant-b-0123456789', FOLIO_OCR_MAX_WINDOW: '2', FOLIO_OCR_MIN_WINDOW: '2' },
    // A slow backend with room for two pages at a time: tenant A's batch alone keeps it busy.
    sim: { maxNumSeqs: 2, prefillMs: 20, msPerToken: 2, tokensPerPage: 200 },
  });
});
after(async () => stack?.close());

const status = async (id: string, headers: Record<string, string>) => (await (await fetch(`${stack.url}/v1/jobs/${id}`, { headers })).json()).status as string;

test("tenant B's 5-page job finishes while tenant A's 80-page batch, submitted first, is still running", async () => {
  const big = await upload(stack.url, '/v1/jobs', makePdf(Array.from({ length: 80 }, (_, i) => `A page ${i + 1}`)), { filename: 'a.pdf', headers: A });
  assert.equal(big.status, 202);
  const a = (await big.json()).id;
  // Let A's pages fill the queue first.
  const until = Date.now() + 30_000;
  while ((await status(a, A)) !== 'ocr' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));

  const small = await upload(stack.url, '/v1/jobs', makePdf(['B1', 'B2', 'B3', 'B4', 'B5']), { filename: 'b.pdf', headers: B, fields: { priority: 'batch' } });
  assert.equal(small.status, 202);
  const b = (await small.json()).id;
  const jobB = await waitForTerminal(stack.url, b, 60_000, B);
  assert.equal(jobB.status, 'completed');
  const aWhenBEnded = await status(a, A);
  assert.ok(!['completed', 'partial', 'failed'].includes(aWhenBEnded), `A had already ended (${aWhenBEnded}): B was not served alongside it`);
  const served = stack.sim!.stats().received;
  assert.ok(served < 80 + 5 - 20, `the backend had seen ${served} pages: more than 20 of A's were still to do`);

  const finalA = await waitForTerminal(stack.url, a, 180_000, A);
  assert.equal(finalA.status, 'completed', 'A still completes, every page');
});
