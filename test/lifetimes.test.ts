import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makePdf } from './helpers/make-pdf.ts';
import { startS3 } from './helpers/s3-server.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';
import { sweepOrphans } from '../services/assembler/orphans.ts';
import { Streams } from '../shared/bus/index.ts';

const WORK_STREAMS = [Streams.jobs, Streams.pages, Streams.pageResults];

async function keysOf(stack: TestStack, jobId: string): Promise<string[]> {
  const all = await Promise.all(['sources/', 'pages/', 'results/'].map((p) => stack.rt.blobs.list(p)));
  return all
    .flat()
    .map((o) => o.key)
    .filter((k) => k.includes(jobId));
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const store of ['nats', 's3'] as const) {
  describe(`object lifetimes (${store} blob store)`, () => {
    let stack: TestStack;
    let s3: Awaited<ReturnType<typeof startS3>> | undefined;
    before(async () => {
      s3 = store === 's3' ? await startS3() : undefined;
      const s3Env: Record<string, string> = s3 ? { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey } : {};
      // A slow backend, so pages are still in flight when the job is cancelled and deleted.
      stack = await startTestStack({ env: { ...s3Env, FOLIO_ORPHAN_SWEEP_INTERVAL_S: '0' }, sim: { prefillMs: 150, maxNumSeqs: 2 } });
    });
    after(async () => {
      await stack?.close();
      await s3?.close();
    });

    test('a DELETE racing in-flight pages leaves no object behind once the sweep runs, and every work stream drains', async () => {
      const res = await upload(stack.url, '/v1/jobs', makePdf(Array.from({ length: 12 }, (_, i) => `page ${i + 1}`)), { filename: 'race.pdf' });
      const { id } = await res.json();
      await waitFor('pages in flight', async () => stack.sim!.stats().received >= 2);
      assert.equal((await fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' })).status, 202);
      await waitForTerminal(stack.url, id);
      // The second DELETE removes the finished (cancelled) job and its objects while OCR may still be writing.
      assert.equal((await fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' })).status, 204);
      await waitFor('work streams to drain', async () => {
        const infos = await Promise.all(WORK_STREAMS.map((s) => stack.rt.bus.jsm.streams.info(s)));
        return infos.every((i) => i.state.messages === 0);
      });
      await new Promise((r) => setTimeout(r, 300));
      const removed = await sweepOrphans({ blobs: stack.rt.blobs, jobs: stack.rt.jobs, log: stack.rt.log }, 0);
      assert.ok(removed.every((r) => r === id));
      assert.deepEqual(await keysOf(stack, id), [], 'no object of the deleted job is left');
      assert.equal((await fetch(`${stack.url}/v1/jobs/${id}`)).status, 404);
    });

    test("an expired job's objects are removed by the sweep; a live job's are kept", async () => {
      const kept = await (await upload(stack.url, '/v1/jobs', makePdf(['keep me']), { filename: 'keep.pdf' })).json();
      const gone = await (await upload(stack.url, '/v1/jobs', makePdf(['expire me']), { filename: 'gone.pdf', fields: { cache: 'bypass' } })).json();
      await waitForTerminal(stack.url, kept.id);
      await waitForTerminal(stack.url, gone.id);
      assert.ok((await keysOf(stack, gone.id)).length >= 3, 'source, page image and results were stored');
      // What the KV TTL does after FOLIO_RESULT_TTL_S: the status and page records vanish.
      await stack.rt.jobs.remove(gone.id);

      assert.deepEqual(await sweepOrphans({ blobs: stack.rt.blobs, jobs: stack.rt.jobs, log: stack.rt.log }, 60_000), [], 'young objects are left alone');
      const removed = await sweepOrphans({ blobs: stack.rt.blobs, jobs: stack.rt.jobs, log: stack.rt.log }, 0);
      assert.ok(removed.includes(gone.id));
      assert.deepEqual(await keysOf(stack, gone.id), []);
      assert.ok((await keysOf(stack, kept.id)).length >= 3, 'the live job keeps its objects');
      assert.equal((await fetch(`${stack.url}/v1/jobs/${kept.id}/result`)).status, 200);
    });
  });
}
