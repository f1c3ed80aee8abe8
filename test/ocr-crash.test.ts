import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makePdf } from './helpers/make-pdf.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let stack: TestStack;

before(async () => {
  // Ingest, rasterizer and assembler in this process; the OCR service runs as its own process so it can be SIGKILLed.
  stack = await startTestStack({ services: ['ingest', 'rasterizer', 'assembler'], sim: { prefillMs: 400, msPerToken: 0.2 } });
});
after(async () => {
  await stack?.close();
});

function startOcrProcess(): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'services/ocr/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...stack.env, FOLIO_OCR_MAX_WINDOW: '2', LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
}

async function pagesDone(id: string): Promise<number> {
  const job = await (await fetch(`${stack.url}/v1/jobs/${id}`)).json();
  return job.pages.done;
}

test('killing the OCR service (SIGKILL) mid-job and starting it again completes every page exactly once', async () => {
  const pageCount = 12;
  const texts = Array.from({ length: pageCount }, (_, i) => `Crash test page ${i + 1}`);
  let ocr = startOcrProcess();
  const completions: string[] = [];
  const events = stack.rt.bus.nc.subscribe('folio.events.>', { callback: (_e, m) => void (m.subject.endsWith('.progress') || completions.push(m.subject)) });
  const res = await upload(stack.url, '/v1/jobs', makePdf(texts), { filename: 'crash.pdf' });
  assert.equal(res.status, 202);
  const { id } = await res.json();

  const until = Date.now() + 60_000;
  while ((await pagesDone(id)) < 2 || stack.sim!.stats().running === 0) {
    assert.ok(Date.now() < until, 'OCR started');
    await new Promise((r) => setTimeout(r, 20));
  }
  // Killed while the backend is working on a page of this job: that page's result is never acked.
  const inFlightAtKill = stack.sim!.stats().running;
  ocr.kill('SIGKILL');
  await new Promise((r) => ocr.once('exit', r));
  const doneAtKill = await pagesDone(id);
  assert.ok(doneAtKill < pageCount, 'the job was cut off mid-way');
  assert.ok(inFlightAtKill > 0, 'a page was in flight at the kill');

  ocr = startOcrProcess();
  try {
    const job = await waitForTerminal(stack.url, id, 90_000);
    assert.equal(job.status, 'completed');
    assert.deepEqual(job.pages, { total: pageCount, done: pageCount, failed: 0 });
    assert.deepEqual(
      job.pageDetails.map((p: { page: number }) => p.page),
      texts.map((_, i) => i + 1),
    );
    const doc = await (await fetch(`${stack.url}/v1/jobs/${id}/result?format=json`)).json();
    assert.equal(doc.pages.length, pageCount, 'every page exactly once');
    const md = await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).text();
    assert.equal([...md.matchAll(/<!-- page \d+ -->/g)].length, pageCount - 1, 'no page repeated in the Markdown');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(completions, [`folio.events.default.${id}.completed`], 'exactly one completion event');
  } finally {
    events.unsubscribe();
    ocr.kill('SIGKILL');
  }
});
