import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';
import { isPrivateAddress, resolveSafe } from '../services/ingest/ssrf.ts';
import { signWebhook, verifyWebhook } from '../services/ingest/notify/webhook-signature.ts';
import { backoffMs, postPinned } from '../services/ingest/notify/webhooks.ts';

const png = readFileSync(new URL('./fixtures/english.png', import.meta.url));
const KEY = 'hooks-key-AAAAAAAAAAAAAAAAAAAAAAA';
const auth = { authorization: `Bearer ${KEY}` };

/** A webhook receiver on loopback that answers each delivery with the next status of `answers` (then 200). */
async function receiver(answers: number[]) {
  const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    got.push({ headers: req.headers, body });
    res.writeHead(answers.shift() ?? 200).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, close: () => new Promise((r) => server.close(r)) };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('webhooks, allowed to reach loopback (FOLIO_WEBHOOK_ALLOW_PRIVATE)', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({
      env: {
        FOLIO_API_KEYS: `acme=${KEY}`,
        FOLIO_WEBHOOK_SECRET: 'a-master-secret-for-tests',
        FOLIO_WEBHOOK_ALLOW_PRIVATE: 'true',
        FOLIO_WEBHOOK_BASE_BACKOFF_MS: '50',
        FOLIO_WEBHOOK_MAX_ATTEMPTS: '4',
      },
    });
  });
  after(async () => stack?.close());

  test('a job end is delivered signed (Standard Webhooks), retried with backoff after failures, and every attempt shows in the job status', async () => {
    const hook = await receiver([500, 503]);
    try {
      const res = await upload(stack.url, '/v1/jobs', png, { filename: 'english.png', headers: auth, fields: { webhook: hook.url } });
      assert.equal(res.status, 202, await res.clone().text());
      const { id } = await res.json();
      assert.equal((await waitForTerminal(stack.url, id, 60_000, auth)).status, 'completed');
      const job = await until('three attempts recorded', async () => {
        const s = await (await fetch(`${stack.url}/v1/jobs/${id}`, { headers: auth })).json();
        return s.webhook?.deliveries?.length >= 3 ? s : undefined;
      });
      assert.deepEqual(
        job.webhook.deliveries.map((d: any) => [d.attempt, d.outcome, d.httpStatus]),
        [
          [1, 'failed', 500],
          [2, 'failed', 503],
          [3, 'delivered', 200],
        ],
      );
      assert.equal(job.webhook.url, hook.url);

      assert.equal(hook.got.length, 3);
      const { secret } = await (await fetch(`${stack.url}/v1/webhook-secret`, { headers: auth })).json();
      for (const d of hook.got) verifyWebhook(secret, d.headers, d.body);
      assert.equal(new Set(hook.got.map((d) => d.headers['webhook-id'])).size, 1, 'the same id on every retry (receivers dedupe on it)');
      const payload = JSON.parse(hook.got[2].body);
      assert.equal(payload.type, 'job.completed');
      assert.equal(payload.data.id, id);
      assert.equal(payload.data.links.markdown, `/v1/jobs/${id}/result?format=markdown`);
      assert.throws(() => verifyWebhook(secret, hook.got[2].headers, hook.got[2].body.replace(id, 'x')), /no matching signature/);
      assert.throws(
        () => verifyWebhook('whsec_' + Buffer.from('another tenant').toString('base64'), hook.got[2].headers, hook.got[2].body),
        /no matching signature/,
      );
    } finally {
      await hook.close();
    }
  });

  test('a cached answer is announced again: its webhook is delivered too', async () => {
    const hook = await receiver([]);
    try {
      const first = await (await upload(stack.url, '/v1/jobs', png, { filename: 'english.png', headers: auth })).json();
      await waitForTerminal(stack.url, first.id, 60_000, auth);
      const again = await (await upload(stack.url, '/v1/jobs', png, { filename: 'english.png', headers: auth, fields: { webhook: hook.url } })).json();
      assert.equal(again.cached, true);
      await until('the cached job’s webhook', async () => hook.got.length > 0 || undefined);
      assert.equal(JSON.parse(hook.got[0].body).data.id, first.id);
    } finally {
      await hook.close();
    }
  });

  test('a malformed webhook URL is refused at submission', async () => {
    const res = await upload(stack.url, '/v1/jobs', png, { headers: auth, fields: { webhook: 'ftp://example.com/x', cache: 'bypass' } });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, 'FOLIO_INVALID_OPTIONS');
  });
});

describe('webhooks with the default SSRF protection', () => {
  let stack: TestStack;
  before(async () => {
    // Ingest alone: the job stays queued and its end is a cancellation.
    stack = await startTestStack({ services: ['ingest'], env: { FOLIO_WEBHOOK_SECRET: 'a-master-secret-for-tests' } });
  });
  after(async () => stack?.close());

  test('a target on loopback is refused after resolution, recorded as refused, never called, not retried', async () => {
    const hook = await receiver([]);
    try {
      const target = hook.url.replace('127.0.0.1', 'localhost');
      const { id } = await (await upload(stack.url, '/v1/jobs', png, { filename: 'english.png', fields: { webhook: target } })).json();
      assert.equal((await fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' })).status, 202);
      const job = await until('the refusal recorded', async () => {
        const s = await (await fetch(`${stack.url}/v1/jobs/${id}`)).json();
        return s.webhook?.deliveries?.length ? s : undefined;
      });
      assert.deepEqual(
        job.webhook.deliveries.map((d: any) => [d.event, d.outcome]),
        [['job.cancelled', 'refused']],
      );
      assert.match(job.webhook.deliveries[0].error, /private, loopback or link-local/);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(hook.got.length, 0);
    } finally {
      await hook.close();
    }
  });
});

test('private, loopback, link-local and mapped addresses are refused; public ones pass; names are checked after resolution', async () => {
  for (const a of [
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
  ]) {
    assert.equal(isPrivateAddress(a), true, a);
  }
  for (const a of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111']) assert.equal(isPrivateAddress(a), false, a);
  await assert.rejects(resolveSafe('http://localhost:1/x'), /private, loopback or link-local/);
  await assert.rejects(resolveSafe('http://169.254.169.254/latest/meta-data'), /private/);
  await assert.rejects(resolveSafe('http://[::ffff:7f00:1]/'), /private/);
  await assert.rejects(resolveSafe('http://user:pw@1.1.1.1/'), /credentials/);
  await assert.rejects(resolveSafe('file:///etc/passwd'), /only http and https/);
  assert.equal((await resolveSafe('https://1.1.1.1/hook')).address, '1.1.1.1');
  assert.equal((await resolveSafe('http://localhost:1/x', { allowPrivate: true })).url.port, '1');
});

test('DNS rebinding: the address checked is the address connected to; a name that re-resolves elsewhere is never looked up again', async () => {
  // A rebinding name answers a harmless address to the check and an internal one afterwards.
  let lookups = 0;
  const rebinding = async () => (lookups++ === 0 ? [{ address: '93.184.216.34', family: 4 as const }] : [{ address: '169.254.169.254', family: 4 as const }]);
  const checked = await resolveSafe('http://rebind.example:8080/hook', { resolve: rebinding });
  assert.equal(checked.address, '93.184.216.34');
  // The other way round is refused at the check: any private answer is a refusal.
  await assert.rejects(resolveSafe('http://rebind.example/hook', { resolve: rebinding }), /private/);

  // Delivery connects to the pinned address, keeps the name in the Host header, and asks no
  // resolver again: a name no DNS knows reaches the test's server only through the pin.
  const seen: Array<{ host?: string; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d)).on('end', () => (seen.push({ host: req.headers.host, body }), res.end()));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  lookups = 0;
  const pinnedOnce = async () => (lookups++ === 0 ? [{ address: '127.0.0.1', family: 4 as const }] : [{ address: '10.255.255.1', family: 4 as const }]);
  try {
    const target = await resolveSafe(`http://never-resolves.invalid:${port}/hook`, { allowPrivate: true, resolve: pinnedOnce });
    assert.equal(await postPinned(target, '{"ok":true}', {}, 5_000), 200);
    assert.equal(lookups, 1, 'one lookup, at the check');
    assert.deepEqual(seen, [{ host: `never-resolves.invalid:${port}`, body: '{"ok":true}' }]);
  } finally {
    server.close();
  }
});

test('signatures follow Standard Webhooks (the spec’s own example verifies); backoff doubles up to its cap', () => {
  // From the Standard Webhooks specification's test vectors.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const ts = 1614265330;
  const body = '{"test": 2432232314}';
  assert.equal(signWebhook(secret, id, ts, body), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  verifyWebhook(
    secret,
    { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': 'v1,bad v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' },
    body,
    300,
    ts + 10,
  );
  assert.throws(
    () =>
      verifyWebhook(
        secret,
        { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' },
        body,
        300,
        ts + 3600,
      ),
    /tolerance/,
  );
  assert.deepEqual(
    [1, 2, 3, 4, 10].map((n) => backoffMs(n, 1000, 5000)),
    [1000, 2000, 4000, 5000, 5000],
  );
});
