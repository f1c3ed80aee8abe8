import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startNats, type TestNats } from './helpers/nats-server.ts';
import { startTestStack, upload, type TestStack } from './helpers/stack.ts';

const png = readFileSync(new URL('./fixtures/english.png', import.meta.url));
const LIMIT = 6;
const KEY_ONE = 'tenant-one-key-0123456789abcdef';
const KEY_TWO = 'tenant-two-key-0123456789abcdef';
let nats: TestNats;
let a: TestStack;
let b: TestStack;

before(async () => {
  nats = await startNats();
  // Two ingest replicas only: the limit must hold across them through NATS KV, with no OCR running.
  // A long window: the bucket refills one request per window/limit, so none comes back during the test.
  const env = { FOLIO_RATE_LIMIT_MAX: String(LIMIT), FOLIO_RATE_LIMIT_WINDOW_S: '600', FOLIO_API_KEYS: `one=${KEY_ONE},two=${KEY_TWO}` };
  a = await startTestStack({ nats, services: ['ingest'], env });
  b = await startTestStack({ nats, services: ['ingest'], env });
});
after(async () => {
  await a?.close();
  await b?.close();
  await nats?.destroy();
});

test('the rate limit of a tenant holds across two ingest replicas', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < LIMIT * 2; i++) {
    const res = await upload(i % 2 ? a.url : b.url, '/v1/jobs', png, { headers: { 'x-api-key': KEY_ONE } });
    statuses.push(res.status);
    if (res.status === 429) {
      assert.equal((await res.json()).error.code, 'FOLIO_RATE_LIMITED');
      assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After says when to come back');
    } else await res.body?.cancel();
  }
  assert.equal(statuses.filter((s) => s === 202).length, LIMIT, `statuses: ${statuses.join(',')}`);
  assert.equal(statuses.filter((s) => s === 429).length, LIMIT);
});

test('another tenant keeps its own budget, and health checks are never limited', async () => {
  const res = await upload(a.url, '/v1/jobs', png, { headers: { 'x-api-key': KEY_TWO } });
  assert.equal(res.status, 202);
  for (let i = 0; i < LIMIT * 2; i++) assert.equal((await fetch(`${b.url}/healthz`)).status, 200);
});
