// Load shedding: many tenants at once cannot exhaust one ingest replica. Past FOLIO_MAX_UPLOADS
// (all tenants together) an upload is answered 503 FOLIO_OVERLOADED with Retry-After, readable by
// Node's fetch while it is still sending; what was accepted ends. Past FOLIO_MAX_SYNC_WAITS, a
// synchronous call (/v1/ocr, which holds its connection until the document is read) is refused the
// same way before anything is submitted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestStack, waitForTerminal, type TestStack } from './helpers/stack.ts';

const PNG = readFileSync(new URL('./fixtures/english.png', import.meta.url));
const TENANTS = ['acme', 'globex', 'initech'].map((t) => ({ tenant: t, key: `${t}-shedding-key-AAAAAAAAAAAAAAAAAAAA` }));
let stack: TestStack;

before(async () => {
  stack = await startTestStack({
    env: { FOLIO_API_KEYS: TENANTS.map((t) => `${t.tenant}=${t.key}`).join(','), FOLIO_MAX_UPLOADS: '3', FOLIO_MAX_UPLOADS_PER_TENANT: '8' },
  });
});
after(async () => stack?.close());

test('past the replica-wide upload cap, every tenant is answered 503 FOLIO_OVERLOADED with Retry-After; accepted jobs end', async () => {
  const sends = TENANTS.flatMap(({ key }) =>
    Array.from({ length: 6 }, async () => {
      const res = await fetch(`${stack.url}/v1/jobs`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'image/png' }, body: PNG });
      return { key, status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { id?: string; error?: { code: string } } };
    }),
  );
  const answers = await Promise.all(sends);
  const shed = answers.filter((a) => a.status === 503);
  assert.ok(shed.length > 0, `18 uploads against a cap of 3 were never shed: ${answers.map((a) => a.status).join(' ')}`);
  for (const a of answers) assert.ok([202, 503].includes(a.status), `status ${a.status}: ${JSON.stringify(a.body)}`);
  for (const a of shed) {
    assert.equal(a.body.error?.code, 'FOLIO_OVERLOADED');
    assert.match(String(a.retryAfter), /^[1-9]\d*$/);
  }
  const accepted = answers.filter((a) => a.status === 202);
  assert.ok(accepted.length >= 3, `${accepted.length} accepted`);
  const ends = await Promise.all(accepted.map((a) => waitForTerminal(stack.url, a.body.id!, 120_000, { 'x-api-key': a.key })));
  assert.deepEqual([...new Set(ends.map((e) => e.status))], ['completed']);
});

describe('synchronous calls past the replica-wide cap (FOLIO_MAX_SYNC_WAITS)', () => {
  let slow: TestStack;
  before(async () => {
    // Each page takes the simulated model about 2 s, so the calls overlap.
    slow = await startTestStack({
      sim: { prefillMs: 2000 },
      env: { FOLIO_API_KEYS: TENANTS.map((t) => `${t.tenant}=${t.key}`).join(','), FOLIO_MAX_SYNC_WAITS: '2', FOLIO_MAX_SYNC_WAITS_PER_TENANT: '4' },
    });
  });
  after(async () => slow?.close());

  test('are answered 503 FOLIO_OVERLOADED with Retry-After and submit nothing; the calls let in get their Markdown', async () => {
    const calls = TENANTS.flatMap(({ key }) =>
      Array.from({ length: 2 }, async () => {
        const res = await fetch(`${slow.url}/v1/ocr`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'image/png' }, body: PNG });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { markdown?: string; error?: { code: string } } };
      }),
    );
    const answers = await Promise.all(calls);
    const shed = answers.filter((a) => a.status === 503);
    const served = answers.filter((a) => a.status === 200);
    assert.equal(shed.length + served.length, answers.length, `statuses ${answers.map((a) => a.status).join(' ')}`);
    assert.ok(shed.length >= 1 && served.length >= 2, `6 calls against a cap of 2: ${served.length} served, ${shed.length} shed`);
    for (const a of shed) {
      assert.equal(a.body.error?.code, 'FOLIO_OVERLOADED');
      assert.match(String(a.retryAfter), /^[1-9]\d*$/);
    }
    for (const a of served) assert.match(String(a.body.markdown), /SIMULATED OUTPUT/);
    // Refused before the upload was read: only the calls let in became jobs.
    assert.equal(slow.sim!.stats().received, served.length);
  });
});
