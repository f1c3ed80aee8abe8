import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { registerRateLimit } from '../services/ingest/rate-limit.ts';
import { startNats, type TestNats } from './helpers/nats-server.ts';

const BUCKET = 'folio_ratelimit';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Replica {
  url: string;
  app: FastifyInstance;
  nc: NatsConnection;
  kv: KV;
  warnings: string[];
}

async function startReplica(natsUrl: string, max: number, windowS: number, extra: { timeoutMs?: number; cooldownMs?: number } = {}): Promise<Replica> {
  // One connection per replica, as two ingest processes would have.
  const nc = await connect({ servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const kv = await new Kvm(nc).create(BUCKET, { history: 1, ttl: windowS * 2 * 1000 });
  const warnings: string[] = [];
  const log = { warn: (_o: object, msg: string) => void warnings.push(msg), info: () => {} };
  const app = Fastify();
  await registerRateLimit(app, { kv, max, windowS, log, ...extra });
  app.post('/jobs', async () => ({ ok: true }));
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/docs/json', async () => ({ ok: true }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, app, nc, kv, warnings };
}

async function stopReplica(r: Replica) {
  await r.app.close();
  await r.nc.close();
}

/** Starts a burst at the beginning of a fixed window, so it cannot straddle two. */
async function atWindowStart(windowS: number) {
  const ms = windowS * 1000;
  await sleep(ms - (Date.now() % ms) + 20);
}

let seq = 0;
const freshKey = () => `test-key-${process.pid}-${++seq}-${Math.random().toString(36).slice(2)}`;

async function post(base: string, key: string | null, path = '/jobs') {
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  const res = await fetch(`${base}${path}`, { method: path === '/jobs' ? 'POST' : 'GET', headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe('rate limit shared through NATS KV', () => {
  let nats: TestNats;
  before(async () => {
    nats = await startNats();
  });
  after(async () => {
    await nats.destroy();
  });

  describe('two replicas, max 10 per 2 s', () => {
    const MAX = 10;
    const WINDOW_S = 2;
    let a: Replica;
    let b: Replica;
    before(async () => {
      a = await startReplica(nats.url, MAX, WINDOW_S);
      b = await startReplica(nats.url, MAX, WINDOW_S);
    });
    after(async () => {
      await stopReplica(a);
      await stopReplica(b);
    });

    it('holds the limit across replicas for alternating requests', async () => {
      const key = freshKey();
      await atWindowStart(WINDOW_S);
      const results = [];
      for (let i = 0; i < 30; i++) results.push(await post(i % 2 ? b.url : a.url, key));
      const ok = results.filter((r) => r.status === 200);
      const limited = results.filter((r) => r.status === 429);
      assert.equal(ok.length, MAX);
      assert.equal(limited.length, 30 - MAX);
      assert.deepEqual(results.slice(0, MAX).map((r) => r.status), Array(MAX).fill(200), 'the first max requests pass');
      assert.equal(ok[0].headers.get('x-ratelimit-limit'), String(MAX));
      assert.equal(ok[0].headers.get('x-ratelimit-remaining'), String(MAX - 1));
      for (const r of limited) {
        assert.equal(r.body.error.code, 'FOLIO_RATE_LIMITED');
        assert.equal(typeof r.body.error.message, 'string');
        const retryAfter = Number(r.headers.get('retry-after'));
        assert.ok(retryAfter >= 1 && retryAfter <= WINDOW_S, `Retry-After ${r.headers.get('retry-after')}`);
        assert.equal(r.headers.get('x-ratelimit-limit'), String(MAX));
        assert.equal(r.headers.get('x-ratelimit-remaining'), '0');
        assert.ok(r.headers.get('x-ratelimit-reset'));
      }
    });

    it('allows exactly max of 100 concurrent requests on one key, with no 5xx', async () => {
      for (let round = 0; round < 3; round++) {
        const key = freshKey();
        await atWindowStart(WINDOW_S);
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => post(i % 2 ? b.url : a.url, key)));
        const statuses = results.map((r) => r.status);
        assert.equal(statuses.filter((s) => s >= 500).length, 0);
        assert.equal(statuses.filter((s) => s === 200).length, MAX, `round ${round}: ${statuses.join(',')}`);
        assert.equal(statuses.filter((s) => s === 429).length, 100 - MAX);
      }
      assert.deepEqual([...a.warnings, ...b.warnings], [], 'no fail-open or contention fallback happened');
    });

    it('gives each API key its own budget; x-api-key counts as an API key', async () => {
      const k1 = freshKey();
      const k2 = freshKey();
      await atWindowStart(WINDOW_S);
      for (let i = 0; i < MAX; i++) assert.equal((await post(a.url, k1)).status, 200);
      assert.equal((await post(b.url, k1)).status, 429);
      assert.equal((await post(b.url, k2)).status, 200);
      const viaHeader = await fetch(`${a.url}/jobs`, { method: 'POST', headers: { 'x-api-key': k2 } });
      assert.equal(viaHeader.headers.get('x-ratelimit-remaining'), String(MAX - 2), 'x-api-key shares the Bearer budget');
    });

    it('lets a client in again once the window has passed', async () => {
      const key = freshKey();
      await atWindowStart(WINDOW_S);
      for (let i = 0; i < MAX; i++) await post(i % 2 ? b.url : a.url, key);
      const limited = await post(a.url, key);
      assert.equal(limited.status, 429);
      await sleep(Number(limited.headers.get('retry-after')) * 1000 + 50);
      assert.equal((await post(a.url, key)).status, 200);
      assert.equal((await post(b.url, key)).status, 200);
    });

    it('never limits /healthz or /docs, even for a client over its budget', async () => {
      const key = freshKey();
      await atWindowStart(WINDOW_S);
      for (let i = 0; i < MAX + 1; i++) await post(a.url, key);
      assert.equal((await post(a.url, key)).status, 429);
      for (let i = 0; i < 3 * MAX; i++) {
        const h = await post(i % 2 ? b.url : a.url, key, '/healthz');
        assert.equal(h.status, 200);
        assert.equal(h.headers.get('x-ratelimit-limit'), null);
      }
      assert.equal((await post(b.url, key, '/docs/json')).status, 200);
    });

    it('limits clients without an API key by address', async () => {
      await atWindowStart(WINDOW_S);
      const statuses = [];
      for (let i = 0; i < MAX + 2; i++) statuses.push((await post(i % 2 ? b.url : a.url, null)).status);
      assert.equal(statuses.filter((s) => s === 200).length, MAX);
    });

    it('stores neither raw API keys nor raw addresses in KV keys', async () => {
      const secret = `sk_live/${freshKey()}:with.dots`;
      await post(a.url, secret);
      const keys: string[] = [];
      for await (const k of await a.kv.keys()) keys.push(k);
      assert.ok(keys.length > 0);
      for (const k of keys) {
        // <sha-256 in base64url>.<window start>: nothing of the client's key or address survives.
        assert.match(k, /^[-_A-Za-z0-9]{43}\.\d+$/);
      }
    });
  });

  it('max 0 disables the limiter', async () => {
    const r = await startReplica(nats.url, 0, 2);
    try {
      for (let i = 0; i < 5; i++) {
        const res = await post(r.url, 'k');
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-ratelimit-limit'), null);
      }
    } finally {
      await stopReplica(r);
    }
  });

  it('fails open, and logs it, while NATS is down; limits again once it is back', async () => {
    const MAX = 3;
    const r = await startReplica(nats.url, MAX, 2, { timeoutMs: 300, cooldownMs: 500 });
    try {
      await nats.stop();
      const key = freshKey();
      const t0 = Date.now();
      const statuses = [];
      for (let i = 0; i < 2 * MAX; i++) statuses.push((await post(r.url, key)).status);
      assert.deepEqual(statuses, Array(2 * MAX).fill(200));
      assert.ok(Date.now() - t0 < 3_000, `fail-open took ${Date.now() - t0} ms`);
      assert.ok(r.warnings.some((w) => /failing open/.test(w)), r.warnings.join('; '));

      await nats.start();
      const until = Date.now() + 10_000;
      let limitedAgain = false;
      while (!limitedAgain && Date.now() < until) {
        const again = freshKey();
        await atWindowStart(2);
        const s = [];
        for (let i = 0; i < MAX + 1; i++) s.push((await post(r.url, again)).status);
        limitedAgain = s.filter((x) => x === 200).length === MAX && s[MAX] === 429;
      }
      assert.ok(limitedAgain, 'the limit applies again after NATS came back');
    } finally {
      await stopReplica(r);
    }
  });
});
