import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Kvm } from '@nats-io/kv';
import { Buckets } from '../shared/bus/index.ts';
import { makePdf } from './helpers/make-pdf.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
let stack: TestStack;

before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

test('a PNG comes back as Markdown through the four services', async () => {
  const res = await upload(stack.url, '/v1/jobs', fixture('english.png'), { filename: 'english.png', type: 'image/png' });
  assert.equal(res.status, 202);
  const accepted = await res.json();
  assert.match(accepted.id, /^[0-9a-f-]{36}$/);
  assert.equal(accepted.links.self, `/v1/jobs/${accepted.id}`);
  const job = await waitForTerminal(stack.url, accepted.id);
  assert.equal(job.status, 'completed');
  assert.deepEqual(job.pages, { total: 1, done: 1, failed: 0 });
  const md = await fetch(`${stack.url}/v1/jobs/${accepted.id}/result?format=markdown`);
  assert.equal(md.status, 200);
  assert.match(md.headers.get('content-type') ?? '', /text\/markdown/);
  const text = await md.text();
  assert.match(text, /SIMULATED OUTPUT/);
  assert.doesNotMatch(text, /<\|ref\|>|<\|det\|>/, 'grounding tags are cleaned out of the Markdown');
});

test('a 3-page PDF comes back with its pages in order, in Markdown and JSON', async () => {
  const pdf = makePdf(['First page', 'Second page', 'Third page']);
  const res = await upload(stack.url, '/v1/jobs', pdf, { filename: 'three.pdf', type: 'application/pdf' });
  assert.equal(res.status, 202);
  const { id } = await res.json();
  const job = await waitForTerminal(stack.url, id);
  assert.equal(job.status, 'completed');
  assert.equal(job.pages.total, 3);
  assert.deepEqual(
    job.pageDetails.map((p: { page: number }) => p.page),
    [1, 2, 3],
  );
  const doc = await (await fetch(`${stack.url}/v1/jobs/${id}/result?format=json`)).json();
  assert.deepEqual(
    doc.pages.map((p: { page: number }) => p.page),
    [1, 2, 3],
  );
  for (const p of doc.pages) {
    assert.equal(p.status, 'done');
    assert.ok(p.blocks.length > 0, 'each page has layout blocks');
    for (const b of p.blocks) assert.ok(b.bbox[2] <= p.width && b.bbox[3] <= p.height, 'boxes are in page pixels');
  }
  const md = await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).text();
  const markers = [...md.matchAll(/<!-- page (\d+) -->/g)].map((m) => Number(m[1]));
  assert.deepEqual(markers, [2, 3], 'page separators appear between pages, in order');
});

test('the job status in KV moves through its states to completed', async () => {
  const kv = await new Kvm(stack.rt.bus.nc).open(Buckets.jobs);
  const seen: string[] = [];
  const watch = await kv.watch({ key: '*', include: 'updates' as never });
  const collecting = (async () => {
    for await (const e of watch) {
      if (e.operation !== 'PUT' || e.key.includes('.')) continue;
      const s = e.json<{ status: string }>().status;
      if (seen.at(-1) !== s) seen.push(s);
      if (['completed', 'failed', 'partial'].includes(s)) break;
    }
  })();
  const res = await upload(stack.url, '/v1/jobs', makePdf(['A', 'B']), { filename: 'ab.pdf' });
  const { id } = await res.json();
  await waitForTerminal(stack.url, id);
  await Promise.race([collecting, new Promise((r) => setTimeout(r, 2000))]);
  watch.stop();
  assert.equal(seen[0], 'queued');
  assert.equal(seen.at(-1), 'completed');
  const order = ['queued', 'rasterizing', 'ocr', 'assembling', 'completed'];
  assert.ok(seen.includes('rasterizing') && seen.includes('assembling'), `saw ${seen.join(' → ')}`);
  assert.deepEqual(
    [...seen].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
    seen,
    `states only move forward: ${seen.join(' → ')}`,
  );
});

test('a NATS subscriber receives the completion event', async () => {
  const sub = stack.rt.bus.nc.subscribe('folio.events.default.*.completed');
  const res = await upload(stack.url, '/v1/jobs', fixture('chinese.png'), { filename: 'chinese.png' });
  const { id } = await res.json();
  const timer = setTimeout(() => sub.unsubscribe(), 30_000);
  let event: { jobId: string; kind: string; status: { status: string; result?: unknown } } | undefined;
  for await (const m of sub) {
    const e = m.json<typeof event>();
    if (e?.jobId === id) {
      event = e;
      break;
    }
  }
  clearTimeout(timer);
  sub.unsubscribe();
  assert.ok(event, 'event received');
  assert.equal(event.kind, 'completed');
  assert.equal(event.status.status, 'completed');
  assert.ok(event.status.result);
});

test('figures are cropped from the page and served where the Markdown links them', async () => {
  const res = await upload(stack.url, '/v1/jobs', fixture('english.png'), { filename: 'english.png' });
  const { id } = await res.json();
  await waitForTerminal(stack.url, id);
  const md = await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).text();
  const link = /!\[\]\((images\/\d+_\d+\.jpg)\)/.exec(md)?.[1];
  assert.ok(link, 'the Markdown links a figure');
  const img = await fetch(new URL(link, `${stack.url}/v1/jobs/${id}/result`));
  assert.equal(img.status, 200);
  assert.equal(img.headers.get('content-type'), 'image/jpeg');
  const bytes = Buffer.from(await img.arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');
  const missing = await fetch(`${stack.url}/v1/jobs/${id}/images/9_9.jpg`);
  assert.equal(missing.status, 404);
});

test('an identical upload is answered from the result cache; cache=bypass runs OCR again', async () => {
  const pdf = makePdf(['cache me', 'twice']);
  const first = await (await upload(stack.url, '/v1/jobs', pdf)).json();
  await waitForTerminal(stack.url, first.id);
  // The assembler counts a job just after its status says completed: let the first job's count land.
  const before = await settledJobCounters();
  const again = await (await upload(stack.url, '/v1/jobs', pdf)).json();
  assert.equal(again.id, first.id);
  assert.equal(again.cached, true);
  assert.equal(again.status, 'completed');
  const after = await jobCounters();
  assert.deepEqual(
    Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]])),
    { submitted: 1, completed: 1, durations: 1, cacheHits: 1 },
    'a cached answer counts as a submitted, completed job with its latency observed',
  );
  const other = await (await upload(stack.url, '/v1/jobs', pdf, { fields: { dpi: '200' } })).json();
  assert.notEqual(other.id, first.id, 'other options, other result');
  const fresh = await (await upload(stack.url, '/v1/jobs', pdf, { fields: { cache: 'bypass' } })).json();
  assert.notEqual(fresh.id, first.id);
  assert.equal((await waitForTerminal(stack.url, fresh.id)).status, 'completed');
});

test('the type comes from the bytes: a PDF declared as image/png is processed as a PDF', async () => {
  const res = await upload(stack.url, '/v1/jobs', makePdf(['one', 'two', 'three']), { filename: 'lies.png', type: 'image/png' });
  assert.equal(res.status, 202);
  const { id } = await res.json();
  const job = await waitForTerminal(stack.url, id);
  assert.equal(job.source.mediaType, 'application/pdf');
  assert.equal(job.pages.total, 3);
  assert.equal(job.status, 'completed');
});

test('a raw-body upload (curl --data-binary) is accepted like a multipart one', async () => {
  const res = await fetch(`${stack.url}/v1/jobs?pages=2`, {
    method: 'POST',
    body: new Uint8Array(makePdf(['x', 'y', 'z'])),
    headers: { 'content-type': 'application/pdf' },
  });
  assert.equal(res.status, 202);
  const job = await waitForTerminal(stack.url, (await res.json()).id);
  assert.equal(job.status, 'completed');
  assert.deepEqual(
    job.pageDetails.map((p: { page: number }) => p.page),
    [2],
  );
});

test('GET /v1/jobs/:id/events streams status events until the job ends', async () => {
  const res = await upload(stack.url, '/v1/jobs', makePdf(['sse one', 'sse two', 'sse three']));
  const { id } = await res.json();
  const events = await fetch(`${stack.url}/v1/jobs/${id}/events`);
  assert.equal(events.status, 200);
  assert.match(events.headers.get('content-type') ?? '', /text\/event-stream/);
  const text = await events.text(); // the server ends the stream after the terminal status
  const statuses = [...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]).status);
  assert.ok(statuses.length >= 1);
  assert.equal(statuses.at(-1), 'completed');
  assert.match(text, /^event: status$/m);
});

test('POST /v1/ocr waits and answers with the Markdown', async () => {
  const res = await upload(stack.url, '/v1/ocr', fixture('english.png'), { filename: 'english.png' });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, 'completed');
  assert.match(body.markdown, /SIMULATED OUTPUT/);
});

test('seed-compatible POST /ocr answers an image with its Markdown', async () => {
  const res = await upload(stack.url, '/ocr', fixture('english.png'), { filename: 'english.png' });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, 'completed');
  assert.ok(body.task_id);
  assert.match(body.markdown, /SIMULATED OUTPUT/);
});

test('seed-compatible POST /ocr answers a PDF with a task id that GET /result/:task_id resolves', async () => {
  const res = await upload(stack.url, '/ocr', makePdf(['p1', 'p2']), { filename: 'doc.pdf' });
  assert.equal(res.status, 202);
  const body = await res.json();
  assert.equal(body.status, 'pending');
  let result: { status: string; markdown?: string } = { status: 'pending' };
  for (let i = 0; i < 300 && result.status === 'pending'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    result = await (await fetch(`${stack.url}/result/${body.task_id}`)).json();
  }
  assert.equal(result.status, 'completed');
  assert.match(result.markdown ?? '', /SIMULATED OUTPUT/);
});

test('GET /result/:task_id of an unknown task is a 404 with a code', async () => {
  const res = await fetch(`${stack.url}/result/does-not-exist`);
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error.code, 'FOLIO_JOB_NOT_FOUND');
});

test('DELETE cancels a running job and every stage drops its work', async () => {
  const before = stack.sim!.stats().received;
  const res = await upload(stack.url, '/v1/jobs', makePdf(Array.from({ length: 30 }, (_, i) => `page ${i + 1}`)), { filename: 'long.pdf' });
  const { id } = await res.json();
  const del = await fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' });
  assert.equal(del.status, 202);
  assert.equal((await del.json()).status, 'cancelled');
  const job = await waitForTerminal(stack.url, id);
  assert.equal(job.status, 'cancelled');
  const result = await fetch(`${stack.url}/v1/jobs/${id}/result`);
  assert.equal(result.status, 409);
  assert.equal((await result.json()).error.code, 'FOLIO_RESULT_NOT_READY');
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(stack.sim!.stats().received - before < 30, 'pages of the cancelled job were not all sent to the backend');
  const info = await stack.rt.bus.jsm.streams.info('FOLIO_PAGES', { subjects_filter: `folio.page.ready.*.*.${id}` });
  assert.deepEqual(info.state.subjects ?? {}, {}, 'no page of it is left waiting');
});

test('/healthz, /readyz and /metrics answer', async () => {
  assert.equal((await fetch(`${stack.url}/healthz`)).status, 200);
  const ready = await fetch(`${stack.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual((await ready.json()).checks, { nats: 'ok', blobs: 'ok' });
  const metrics = await (await fetch(`${stack.url}/metrics`)).text();
  assert.match(metrics, /^folio_jobs_submitted_total\{media_type="image\/png"\} \d+/m);
  assert.match(metrics, /^folio_http_request_duration_seconds_bucket/m);
  assert.match(metrics, /^folio_pages_ocr_total\{engine="vllm",outcome="ok"\} \d+/m);
  // promtool's lint: only counters may end in _total.
  const types = [...metrics.matchAll(/^# TYPE (\S+) (\S+)$/gm)];
  assert.ok(types.length > 10);
  for (const [, name, type] of types) if (name.endsWith('_total')) assert.equal(type, 'counter', name);
});

test('a browser gets an upload page at /', async () => {
  const res = await fetch(`${stack.url}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  const html = await res.text();
  assert.match(html, /<input id="file" type="file"/);
  assert.match(html, /\/v1\/jobs/);
});

test('the OpenAPI document lists the API', async () => {
  const res = await fetch(`${stack.url}/docs/json`);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.ok(doc.paths['/v1/jobs']);
  assert.ok(doc.paths['/v1/jobs/{id}/result']);
});

/** The job counters a dashboard reads, summed over their label values (PDFs and completed jobs here). */
async function jobCounters(): Promise<Record<string, number>> {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  const sum = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  return {
    submitted: sum(/^folio_jobs_submitted_total\{media_type="application\/pdf"\} (\S+)$/gm),
    completed: sum(/^folio_jobs_finished_total\{status="completed"\} (\S+)$/gm),
    durations: sum(/^folio_job_duration_seconds_count\{status="completed"\} (\S+)$/gm),
    cacheHits: sum(/^folio_cache_hits_total (\S+)$/gm),
  };
}

/** jobCounters once two reads 300 ms apart agree (at most 5 s), so no earlier job's count is still on its way. */
async function settledJobCounters(): Promise<Record<string, number>> {
  let last = await jobCounters();
  for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await jobCounters();
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  return last;
}
