// Through the whole pipeline (ingest → rasterizer → OCR → assembler): a page that cannot be
// rendered ends as a failed page of a `partial` job, named with its code; the other pages are done.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostilePdf } from './helpers/hostile-pdf.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
before(async () => {
  // A short page deadline so the stalled page is given up on quickly; ordinary pages take ~0.1 s.
  stack = await startTestStack({ env: { FOLIO_RENDER_PAGE_TIMEOUT_MS: '3000' } });
});
after(async () => {
  await stack?.close();
});

type Detail = { page: number; status: string; error?: { code: string } };

async function run(pdf: Buffer) {
  const res = await upload(stack.url, '/v1/jobs', pdf, { filename: 'poisoned.pdf', type: 'application/pdf' });
  assert.equal(res.status, 202, await res.clone().text());
  const { id } = await res.json();
  return waitForTerminal(stack.url, id, 120_000);
}

test('a page that stalls the renderer: job partial, that page FOLIO_RENDER_TIMEOUT, the others done', async () => {
  const job = await run(
    hostilePdf([
      { kind: 'text', text: 'one' },
      { kind: 'operator-bomb', ops: 400_000 },
      { kind: 'text', text: 'three' },
    ]),
  );
  assert.equal(job.status, 'partial', JSON.stringify(job));
  assert.deepEqual(job.pages, { total: 3, done: 2, failed: 1 });
  const details = job.pageDetails as Detail[];
  assert.deepEqual(
    details.map((p) => [p.page, p.status, p.error?.code]),
    [
      [1, 'done', undefined],
      [2, 'failed', 'FOLIO_RENDER_TIMEOUT'],
      [3, 'done', undefined],
    ],
  );
  const md = await (await fetch(`${stack.url}/v1/jobs/${job.id}/result`)).text();
  assert.match(md, /SIMULATED OUTPUT/, 'the rendered pages were read');
});

test('a page pdf.js cannot draw: job partial, that page FOLIO_RENDER_FAILED, the others done', async () => {
  const job = await run(hostilePdf([{ kind: 'text', text: 'one' }, { kind: 'text', text: 'two' }, { kind: 'missing-page' }, { kind: 'text', text: 'four' }]));
  assert.equal(job.status, 'partial', JSON.stringify(job));
  const details = job.pageDetails as Detail[];
  const failed = details.filter((p) => p.status === 'failed');
  assert.deepEqual(
    failed.map((p) => [p.page, p.error?.code]),
    [[3, 'FOLIO_RENDER_FAILED']],
  );
  assert.equal(job.pages.done, job.pages.total - 1);
  assert.ok(details.filter((p) => p.status === 'done').length >= 2);
});

test('a document that cannot be opened is still refused as a whole, not as failed pages', async () => {
  const res = await upload(stack.url, '/v1/jobs', Buffer.from('%PDF-1.7\n\x00\x01garbage garbage'), { filename: 'x.pdf', type: 'application/pdf' });
  assert.equal(res.status, 422);
  assert.equal((await res.json()).error.code, 'FOLIO_PDF_CORRUPT');
});
