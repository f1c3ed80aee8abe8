import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

const png = readFileSync(new URL('./fixtures/english.png', import.meta.url));
const KEY_A = 'acme-key-AAAAAAAAAAAAAAAAAAAAAAAA==';
const KEY_A2 = 'acme-next-key-BBBBBBBBBBBBBBBBBBBBB';
const KEY_B = 'globex-key-CCCCCCCCCCCCCCCCCCCCCCC=';
const A = { authorization: `Bearer ${KEY_A}` };
const B = { 'x-api-key': KEY_B };
let stack: TestStack;
let jobA: string;

before(async () => {
  stack = await startTestStack({ env: { FOLIO_API_KEYS: `acme=${KEY_A},globex=${KEY_B},acme=${KEY_A2}` } });
  const res = await upload(stack.url, '/v1/jobs', png, { headers: A });
  assert.equal(res.status, 202);
  jobA = (await res.json()).id;
  assert.equal((await waitForTerminal(stack.url, jobA, 60_000, A)).status, 'completed');
});
after(async () => {
  await stack?.close();
});

async function expectError(res: Response, status: number, code: string) {
  const body = await res.json();
  assert.equal(res.status, status, `${res.url}: ${JSON.stringify(body)}`);
  assert.equal(body.error.code, code);
}

test('tenant B gets 404 for every resource of tenant A, exactly as for a job that does not exist', async () => {
  const gets = [
    `/v1/jobs/${jobA}`,
    `/v1/jobs/${jobA}/result`,
    ...['json', 'html', 'chunks'].map((f) => `/v1/jobs/${jobA}/result?format=${f}`),
    `/v1/jobs/${jobA}/images/1_1.jpg`,
    `/v1/jobs/${jobA}/pages/1/image`,
    `/v1/jobs/${jobA}/tables`,
    `/v1/jobs/${jobA}/tables/1`,
    `/v1/jobs/${jobA}/events`,
    `/result/${jobA}`,
  ];
  // Each of these is served to its owner: B's 404 is isolation, not a route that does not exist.
  for (const path of [`/v1/jobs/${jobA}/pages/1/image`, `/v1/jobs/${jobA}/tables`])
    assert.equal((await fetch(`${stack.url}${path}`, { headers: A })).status, 200, path);
  for (const path of gets) await expectError(await fetch(`${stack.url}${path}`, { headers: B }), 404, 'FOLIO_JOB_NOT_FOUND');
  await expectError(await fetch(`${stack.url}/v1/jobs/${jobA}`, { method: 'DELETE', headers: B }), 404, 'FOLIO_JOB_NOT_FOUND');
  // The unknown-job answer is the same body shape: B cannot tell "someone else's" from "none".
  const other = await (await fetch(`${stack.url}/v1/jobs/${jobA}`, { headers: B })).json();
  const none = await (await fetch(`${stack.url}/v1/jobs/00000000-0000-4000-8000-000000000000`, { headers: B })).json();
  assert.equal(other.error.code, none.error.code);
  // B's DELETE did nothing: A still has the job and its result.
  assert.equal((await fetch(`${stack.url}/v1/jobs/${jobA}/result`, { headers: A })).status, 200);
});

test("the result cache is per tenant: B's identical upload is a job of B's own, never A's answer", async () => {
  const res = await upload(stack.url, '/v1/jobs', png, { headers: B });
  assert.equal(res.status, 202);
  const job = await res.json();
  assert.notEqual(job.id, jobA);
  assert.equal(job.cached, undefined, "not answered from A's cache entry");
  assert.equal((await fetch(`${stack.url}/v1/jobs/${job.id}`, { headers: A })).status, 404, "the new job is B's, not A's");
  assert.equal((await waitForTerminal(stack.url, job.id, 60_000, B)).status, 'completed');
  // A's own identical upload still is answered from A's entry.
  const again = await (await upload(stack.url, '/v1/jobs', png, { headers: A })).json();
  assert.equal(again.id, jobA);
  assert.equal(again.cached, true);
});

test("the owner's second (rotation) key sees the same jobs", async () => {
  const res = await fetch(`${stack.url}/v1/jobs/${jobA}`, { headers: { 'x-api-key': KEY_A2 } });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).tenant, 'acme');
});

test('no key, or a wrong one, is a 401 on every API route; the page, probes and docs stay open', async () => {
  const attempts: Record<string, string>[] = [
    {},
    { authorization: 'Bearer not-a-known-key-at-all-000' },
    { 'x-api-key': KEY_A.slice(0, -1) },
    { authorization: KEY_A },
  ];
  for (const headers of attempts) {
    for (const [method, path] of [
      ['GET', `/v1/jobs/${jobA}`],
      ['GET', `/v1/jobs/${jobA}/events`],
      ['DELETE', `/v1/jobs/${jobA}`],
      ['POST', '/v1/jobs'],
      ['POST', '/ocr'],
      ['GET', `/result/${jobA}`],
      ['GET', '/v2/unknown'],
    ]) {
      await expectError(await fetch(`${stack.url}${path}`, { method, headers }), 401, 'FOLIO_UNAUTHORIZED');
    }
  }
  for (const path of ['/', '/healthz', '/readyz', '/docs/json']) assert.equal((await fetch(`${stack.url}${path}`)).status, 200, path);
});

test('a cross-site browser request is refused (403) even with a valid key; same-origin and API clients pass', async () => {
  const host = new URL(stack.url).host;
  await expectError(await upload(stack.url, '/v1/jobs', png, { headers: { ...A, origin: 'https://evil.example' } }), 403, 'FOLIO_FORBIDDEN_ORIGIN');
  await expectError(await upload(stack.url, '/v1/jobs', png, { headers: { ...A, origin: 'null' } }), 403, 'FOLIO_FORBIDDEN_ORIGIN');
  await expectError(
    await fetch(`${stack.url}/v1/jobs/${jobA}`, { method: 'DELETE', headers: { ...A, 'sec-fetch-site': 'cross-site' } }),
    403,
    'FOLIO_FORBIDDEN_ORIGIN',
  );
  const same = await upload(stack.url, '/v1/jobs', png, { headers: { ...A, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' } });
  assert.equal(same.status, 202);
  await same.body?.cancel();
  // Reading is not refused for Origin: a GET cannot change anything.
  assert.equal((await fetch(`${stack.url}/v1/jobs/${jobA}`, { headers: { ...A, origin: 'https://evil.example' } })).status, 200);
});

test('a job shows stable codes and generic messages, never raw exception text', async () => {
  const id = '11111111-2222-4333-8444-555555555555';
  const now = new Date().toISOString();
  await stack.rt.jobs.create({
    v: 1,
    id,
    tenant: 'acme',
    status: 'failed',
    source: { name: 'x.png', mediaType: 'image/png', bytes: 1, sha256: 'x', pageCount: 1 },
    options: { dpi: 144, task: 'markdown', engine: 'auto', textLayer: 'auto', separator: 'rule', cache: 'use' } as never,
    priority: 'batch',
    pages: { total: 1, done: 0, failed: 1 },
    error: { code: 'FOLIO_INTERNAL', message: "ENOENT: no such file, open '/srv/folio/secret/state.json'" },
    pageDetails: [{ page: 1, status: 'failed', error: { code: 'FOLIO_UNAVAILABLE', message: 'connect ECONNREFUSED 10.0.3.7:9000' } }],
    createdAt: now,
    updatedAt: now,
    finishedAt: now,
  });
  for (const path of [`/v1/jobs/${id}`, `/result/${id}`]) {
    const text = await (await fetch(`${stack.url}${path}`, { headers: A })).text();
    assert.doesNotMatch(text, /ENOENT|\/srv\/folio|ECONNREFUSED|10\.0\.3\.7/, `${path}: ${text}`);
    assert.match(text, /FOLIO_INTERNAL/);
  }
  const sse = await (await fetch(`${stack.url}/v1/jobs/${id}/events`, { headers: A })).text();
  assert.match(sse, /event: status/);
  assert.doesNotMatch(sse, /ENOENT|ECONNREFUSED/);
});
