import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makePdf } from './helpers/make-pdf.ts';
import { startNats, type TestNats } from './helpers/nats-server.ts';
import { startTestStack, upload, type TestStack } from './helpers/stack.ts';

const png = readFileSync(new URL('./fixtures/english.png', import.meta.url));
const KEY_A = 'acme-key-AAAAAAAAAAAAAAAAAAAAAAAA==';
const KEY_B = 'globex-key-CCCCCCCCCCCCCCCCCCCCCCC=';
const KEY_C = 'initech-key-DDDDDDDDDDDDDDDDDDDDDDD';
const KEY_D = 'umbrella-key-EEEEEEEEEEEEEEEEEEEEEE';
const A = { 'x-api-key': KEY_A };
const B = { 'x-api-key': KEY_B };
const C = { 'x-api-key': KEY_C };
let nats: TestNats;
let r1: TestStack;
let r2: TestStack;

before(async () => {
  nats = await startNats();
  // Two ingest replicas and nothing else: jobs stay queued, so what they hold stays held until cancelled.
  const env = {
    FOLIO_API_KEYS: `acme=${KEY_A},globex=${KEY_B},initech=${KEY_C},umbrella=${KEY_D}`,
    FOLIO_QUOTA_CONCURRENT_JOBS: '2',
    FOLIO_QUOTA_PAGES_IN_FLIGHT: '4',
    FOLIO_QUOTA_PAGES_PER_DAY: '6',
    FOLIO_RESULT_TTL_S: '3600',
  };
  r1 = await startTestStack({ nats, services: ['ingest'], env });
  r2 = await startTestStack({ nats, services: ['ingest'], env });
});
after(async () => {
  await r1?.close();
  await r2?.close();
  await nats?.destroy();
});

const pdf = (pages: number) => makePdf(Array.from({ length: pages }, (_, i) => `page ${i + 1}`));

/** Retries until the answer is not a 429 (a quota freed by a job's end arrives asynchronously). */
async function eventually(submit: () => Promise<Response>, timeoutMs = 15_000): Promise<Response> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await submit();
    if (res.status !== 429 || Date.now() > until) return res;
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('concurrent jobs per tenant hold across two ingest replicas, even when submitted at the same moment', async () => {
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => upload(i % 2 ? r1.url : r2.url, '/v1/jobs', png, { headers: A })));
  const bodies = await Promise.all(results.map((r) => r.json()));
  const accepted = results.filter((r) => r.status === 202);
  assert.equal(accepted.length, 2, results.map((r) => r.status).join(','));
  const refused = results.filter((r) => r.status === 429);
  assert.equal(refused.length, 6);
  for (const [i, r] of results.entries()) {
    if (r.status !== 429) continue;
    assert.equal(bodies[i].error.code, 'FOLIO_QUOTA_EXCEEDED');
    assert.equal(bodies[i].error.details.quota, 'concurrent_jobs');
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    assert.equal(r.headers.get('ratelimit-limit'), '2');
    assert.equal(r.headers.get('ratelimit-remaining'), '0');
  }
  // Another tenant is not affected.
  assert.equal((await upload(r1.url, '/v1/jobs', png, { headers: B })).status, 202);

  // A job's end (here: cancelled on the other replica) frees its slot exactly once.
  const first = bodies.find((b, i) => results[i].status === 202).id;
  assert.equal((await fetch(`${r2.url}/v1/jobs/${first}`, { method: 'DELETE', headers: A })).status, 202);
  const next = await eventually(() => upload(r1.url, '/v1/jobs', png, { headers: A }));
  assert.equal(next.status, 202);
  const after = await upload(r2.url, '/v1/jobs', png, { headers: A });
  assert.equal(after.status, 429, 'one end released one slot, not more');
});

test('pages in flight and pages per day: 429 with Retry-After until midnight UTC; a job that can never fit is a 422', async () => {
  const three = await upload(r1.url, '/v1/jobs', pdf(3), { headers: C });
  assert.equal(three.status, 202);
  const threeId = (await three.json()).id;
  const two = await upload(r2.url, '/v1/jobs', pdf(2), { headers: C });
  assert.equal(two.status, 429);
  assert.equal((await two.json()).error.details.quota, 'pages_in_flight');

  assert.equal((await fetch(`${r1.url}/v1/jobs/${threeId}`, { method: 'DELETE', headers: C })).status, 202);
  const twoAgain = await eventually(() => upload(r2.url, '/v1/jobs', pdf(2), { headers: C }));
  assert.equal(twoAgain.status, 202, 'in-flight pages were released when the job ended');

  // 3 + 2 pages used today; 2 more would make 7 > 6.
  const over = await upload(r1.url, '/v1/jobs', pdf(2), { headers: C });
  const body = await over.json();
  assert.equal(over.status, 429);
  assert.equal(body.error.details.quota, 'pages_per_day');
  const retryAfter = Number(over.headers.get('retry-after'));
  const toMidnight = (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) - Date.now()) / 1000;
  assert.ok(Math.abs(retryAfter - toMidnight) < 60, `Retry-After ${retryAfter} vs ${toMidnight} s to midnight UTC`);
  assert.equal(over.headers.get('ratelimit-limit'), '6');
  assert.equal(over.headers.get('ratelimit-remaining'), '1');

  const never = await upload(r2.url, '/v1/jobs', pdf(7), { headers: C });
  assert.equal(never.status, 422);
  assert.equal((await never.json()).error.code, 'FOLIO_TOO_MANY_PAGES');
});

test('a job larger than the in-flight quota runs when the tenant has nothing else in flight', async () => {
  const D = { 'x-api-key': KEY_D };
  const big = await upload(r1.url, '/v1/jobs', pdf(5), { headers: D });
  assert.equal(big.status, 202, 'five pages with an in-flight quota of four, nothing else in flight');
  const small = await upload(r2.url, '/v1/jobs', png, { headers: D });
  assert.equal(small.status, 429);
  assert.equal((await small.json()).error.details.quota, 'pages_in_flight');
});
