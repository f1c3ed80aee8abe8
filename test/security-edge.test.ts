import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../shared/config/index.ts';
import { startIngest } from '../services/ingest/service.ts';
import { startTestStack, upload, type TestStack } from './helpers/stack.ts';

const png = readFileSync(new URL('./fixtures/english.png', import.meta.url));
const KEY_A = 'acme-key-AAAAAAAAAAAAAAAAAAAAAAAA==';
const KEY_A2 = 'acme-next-key-BBBBBBBBBBBBBBBBBBBBB';
const KEY_B = 'globex-key-CCCCCCCCCCCCCCCCCCCCCCC=';
const KEY_C = 'initech-key-DDDDDDDDDDDDDDDDDDDDDDD';
const KEY_D = 'umbrella-key-EEEEEEEEEEEEEEEEEEEEEE';
const KEY_E = 'hooli-key-FFFFFFFFFFFFFFFFFFFFFFFFF';
const LIMIT = 5;
const env = {
  FOLIO_API_KEYS: `acme=${KEY_A},acme=${KEY_A2},globex=${KEY_B},initech=${KEY_C},umbrella=${KEY_D},hooli=${KEY_E}`,
  FOLIO_RATE_LIMIT_MAX: String(LIMIT),
  FOLIO_RATE_LIMIT_WINDOW_S: '600',
  FOLIO_MAX_STREAMS_PER_TENANT: '1',
  FOLIO_MAX_SYNC_WAITS_PER_TENANT: '1',
  FOLIO_HTTP_BODY_IDLE_TIMEOUT_MS: '500',
};

let stack: TestStack;
let ingest: Awaited<ReturnType<typeof startIngest>>;
const lines: Array<Record<string, any>> = [];

before(async () => {
  // Ingest alone (jobs stay queued, so streams stay open), with a logger the test can read.
  stack = await startTestStack({ services: [], env });
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  ingest = await startIngest({ ...stack.rt, config: loadConfig({ ...stack.env }), log: pino({ level: 'info' }, sink) }, { host: '127.0.0.1', port: 0 });
});
after(async () => {
  await ingest?.stop();
  await stack?.close();
});

const audit = (event: string) => lines.filter((l) => l.component === 'audit' && l.event === event);
const bogus = (i: number) => ({ authorization: `Bearer guess-${i}-${Math.random().toString(36).slice(2)}-padding` });

test('a new bogus key per request is still limited: failed authentication is charged to the address', async () => {
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < LIMIT + 4; i++) {
    last = await fetch(`${ingest.url}/v1/jobs/x`, { headers: bogus(i) });
    statuses.push(last.status);
    await last.body?.cancel();
  }
  assert.deepEqual(statuses, [...Array(LIMIT).fill(401), ...Array(4).fill(429)]);
  assert.ok(Number(last!.headers.get('retry-after')) > 0);
  // Anonymous requests share that address budget too.
  assert.equal((await fetch(`${ingest.url}/v1/jobs/x`)).status, 429);
  assert.ok(audit('auth.denied').length >= 1, 'denied requests are audited');
  assert.ok(audit('rate.limited').some((l) => l.reason === 'auth unknown'));
  for (const l of lines) assert.ok(!JSON.stringify(l).includes('guess-'), 'presented keys never reach the log');
});

test('429 answers carry Retry-After and the RateLimit headers; the budget is the tenant, shared by its two keys', async () => {
  const seen: Response[] = [];
  for (let i = 0; i < LIMIT + 1; i++) {
    const res = await fetch(`${ingest.url}/v1/jobs/nope`, { headers: { 'x-api-key': i % 2 ? KEY_A : KEY_A2 } });
    await res.body?.cancel();
    seen.push(res);
  }
  assert.deepEqual(
    seen.map((r) => r.status),
    [...Array(LIMIT).fill(404), 429],
  );
  assert.equal(seen[0].headers.get('ratelimit-limit'), String(LIMIT));
  assert.equal(seen[0].headers.get('ratelimit-remaining'), String(LIMIT - 1));
  assert.equal(seen[0].headers.get('ratelimit-policy'), `${LIMIT};w=600`);
  const refused = seen[LIMIT];
  assert.equal(refused.headers.get('ratelimit-remaining'), '0');
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(retryAfter > 0 && retryAfter <= 600 / LIMIT, `Retry-After ${retryAfter}: one token comes back after window/limit`);
  assert.ok(Number(refused.headers.get('ratelimit-reset')) > 0);
  // Another tenant has its own budget, from the same address.
  assert.equal((await fetch(`${ingest.url}/v1/jobs/nope`, { headers: { 'x-api-key': KEY_B } })).status, 404);
  // Probes are never limited.
  for (let i = 0; i < 3; i++) {
    for (const path of ['/healthz', '/metrics', '/docs/json']) assert.equal((await fetch(`${ingest.url}${path}`)).status, 200, path);
  }
});

test('key use is audited by key id, never the key', async () => {
  const res = await upload(ingest.url, '/v1/jobs', png, { headers: { 'x-api-key': KEY_B } });
  assert.equal(res.status, 202);
  const used = audit('key.used').filter((l) => l.tenant === 'globex');
  assert.equal(used.length, 1);
  assert.match(used[0].keyId, /^[0-9a-f]{8}$/);
  const all = JSON.stringify(lines);
  for (const k of [KEY_A, KEY_A2, KEY_B]) assert.ok(!all.includes(k));
});

test('SSE streams per tenant are capped (429 FOLIO_QUOTA_EXCEEDED, audited); closing one frees the slot', async () => {
  // Its own tenant: the rate limit (5 requests) must not be what answers here.
  const H = { 'x-api-key': KEY_D };
  const job = (await (await upload(ingest.url, '/v1/jobs', png, { headers: H })).json()).id;
  const first = new AbortController();
  const open = await fetch(`${ingest.url}/v1/jobs/${job}/events`, { headers: H, signal: first.signal });
  assert.equal(open.status, 200);
  const second = await fetch(`${ingest.url}/v1/jobs/${job}/events`, { headers: H });
  assert.equal(second.status, 429);
  assert.equal((await second.json()).error.code, 'FOLIO_QUOTA_EXCEEDED');
  assert.ok(second.headers.get('retry-after'));
  assert.ok(audit('quota.refused').some((l) => l.reason === 'streams' && l.tenant === 'umbrella'));
  first.abort();
  // The stream notices the disconnect at its next poll (500 ms).
  await new Promise((r) => setTimeout(r, 2_000));
  const c = new AbortController();
  const again = await fetch(`${ingest.url}/v1/jobs/${job}/events`, { headers: H, signal: c.signal });
  assert.equal(again.status, 200);
  c.abort();
});

test('an upload whose body stalls is cut after the idle timeout, and the service goes on', async () => {
  const { port } = new URL(ingest.url);
  const t0 = Date.now();
  const answer = await new Promise<string>((resolve) => {
    let got = '';
    const s = net.connect(Number(port), '127.0.0.1', () => {
      s.write(`POST /v1/jobs HTTP/1.1\r\nHost: x\r\nx-api-key: ${KEY_C}\r\nContent-Type: application/pdf\r\nContent-Length: 100000\r\n\r\n%PDF-1.4 partial`);
    });
    s.on('data', (d) => (got += d));
    s.on('close', () => resolve(got));
    s.on('error', () => {});
    setTimeout(() => s.destroy(), 20_000).unref();
  });
  const took = Date.now() - t0;
  assert.ok(took < 15_000, `the stalled upload held the connection ${took} ms`);
  // The client is told why before the connection closes: a 408 with its code, not a bare reset.
  assert.match(answer, /^HTTP\/1\.1 408/);
  assert.match(answer, /"code":"FOLIO_REQUEST_TIMEOUT"/);
  assert.equal((await fetch(`${ingest.url}/healthz`)).status, 200);
});

test('sync calls per tenant are capped, and a refused one has submitted nothing', async () => {
  const H = { 'x-api-key': KEY_E };
  // Nothing runs the job (ingest alone): this call waits, holding the tenant's one sync slot.
  const waiting = upload(ingest.url, '/v1/ocr?wait=8', png, { headers: H }).then(
    (r) => r,
    () => null,
  );
  await new Promise((r) => setTimeout(r, 1_000));
  const before = lines.filter((l) => l.msg === 'job accepted').length;
  const refused = await upload(ingest.url, '/v1/ocr?wait=20', png, { headers: H });
  assert.equal(refused.status, 429);
  const body = await refused.json();
  assert.equal(body.error.code, 'FOLIO_QUOTA_EXCEEDED');
  assert.equal(body.error.details.quota, 'sync_waits');
  assert.equal(lines.filter((l) => l.msg === 'job accepted').length, before, 'no job was accepted for the refused call');
  assert.equal((await waiting)?.status, 202, 'the waiting call ends with its job id when the wait is over');
});
