import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { KvTokenBucket, gcra, type BucketPolicy } from '../services/ingest/rate-limit-store.ts';
import { clientAddress } from '../services/ingest/rate-limit.ts';
import { startNats, type TestNats } from './helpers/nats-server.ts';

const BUCKET = 'folio_ratelimit';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seq = 0;
const freshKey = () => `tenant:t-${process.pid}-${++seq}-${Math.random().toString(36).slice(2)}`;

describe('the token bucket (GCRA)', () => {
  const p: BucketPolicy = { limit: 10, windowMs: 60_000 };
  const run = (times: number[]) => {
    let tat = 0;
    return times.map((t) => {
      const s = gcra(tat, t, p);
      tat = s.tat;
      return s.decision;
    });
  };

  it('lets a burst of `limit` through at once, then one request per window/limit', () => {
    const d = run(Array(12).fill(1_000));
    assert.deepEqual(
      d.map((x) => x.allowed),
      [...Array(10).fill(true), false, false],
    );
    assert.deepEqual(
      d.slice(0, 10).map((x) => x.remaining),
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    );
    assert.equal(d[10].retryAfterMs, 6_000, 'the next token comes after window/limit');
    assert.equal(run([...Array(10).fill(0), 6_000])[10].allowed, true);
  });

  it('allows no second full burst at what would be a fixed window edge', () => {
    // 10 requests just before a minute boundary and 10 just after: a fixed window passes all 20.
    const d = run([...Array(10).fill(59_990), ...Array(10).fill(60_010)]);
    assert.equal(d.filter((x) => x.allowed).length, 10);
    // Over any stretch of time the count is at most limit + elapsed/interval.
    const spread = run(Array.from({ length: 100 }, (_, i) => i * 600)); // 100 requests over 60 s
    assert.ok(spread.filter((x) => x.allowed).length <= 10 + 10, 'at most a burst plus a window of refill');
  });
});

describe('KvTokenBucket shared through NATS KV', () => {
  let nats: TestNats;
  const conns: NatsConnection[] = [];
  const buckets: KvTokenBucket[] = [];
  /** One connection per replica, as two ingest processes would have. */
  async function replica(policy: BucketPolicy, extra: { timeoutMs?: number; cooldownMs?: number } = {}) {
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    conns.push(nc);
    const kv: KV = await new Kvm(nc).create(BUCKET, { history: 1, ttl: policy.windowMs * 2 });
    const warnings: string[] = [];
    const b = new KvTokenBucket(kv, policy, { log: { warn: (_o, msg) => void warnings.push(msg) }, ...extra });
    buckets.push(b);
    return { b, kv, warnings };
  }
  before(async () => {
    nats = await startNats();
  });
  after(async () => {
    for (const b of buckets) b.close();
    for (const nc of conns) await nc.close();
    await nats.destroy();
  });

  it('holds the limit across two replicas, alternating', async () => {
    const policy = { limit: 10, windowMs: 60_000 };
    const a = await replica(policy);
    const b = await replica(policy);
    const key = freshKey();
    const d = [];
    for (let i = 0; i < 30; i++) d.push(await (i % 2 ? b : a).b.take(key));
    assert.deepEqual(
      d.map((x) => x.allowed),
      [...Array(10).fill(true), ...Array(20).fill(false)],
    );
    for (const x of d.slice(10)) assert.ok(x.retryAfterMs > 0 && x.retryAfterMs <= 6_000, String(x.retryAfterMs));
  });

  it('allows exactly `limit` of 100 concurrent requests on one key across two replicas', async () => {
    const policy = { limit: 10, windowMs: 60_000 };
    const a = await replica(policy);
    const b = await replica(policy);
    for (let round = 0; round < 3; round++) {
      const key = freshKey();
      const d = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? b : a).b.take(key)));
      assert.equal(d.filter((x) => x.allowed).length, 10, `round ${round}`);
    }
    assert.deepEqual([...a.warnings, ...b.warnings], [], 'no fail-open or contention fallback happened');
  });

  it('refills continuously: after Retry-After one more request passes', async () => {
    const a = await replica({ limit: 4, windowMs: 2_000 });
    const key = freshKey();
    for (let i = 0; i < 4; i++) assert.equal((await a.b.take(key)).allowed, true);
    const refused = await a.b.take(key);
    assert.equal(refused.allowed, false);
    await sleep(refused.retryAfterMs + 50);
    assert.equal((await a.b.take(key)).allowed, true);
    assert.equal((await a.b.take(key)).allowed, false, 'one token, not a new window of four');
  });

  it('keeps one budget per client key', async () => {
    const a = await replica({ limit: 2, windowMs: 60_000 });
    const k1 = freshKey();
    await a.b.take(k1);
    await a.b.take(k1);
    assert.equal((await a.b.take(k1)).allowed, false);
    assert.equal((await a.b.take(freshKey())).allowed, true);
  });

  it('stores neither tenant names nor addresses in KV keys', async () => {
    const a = await replica({ limit: 5, windowMs: 60_000 });
    await a.b.take('ip:2001:db8::/64');
    await a.b.take('tenant:acme.with.dots');
    const keys: string[] = [];
    for await (const k of await a.kv.keys()) keys.push(k);
    assert.ok(keys.length >= 2);
    for (const k of keys) assert.match(k, /^[-_A-Za-z0-9]{43}$/);
  });

  it('fails open, and logs it, while NATS is down; limits again once it is back', async () => {
    const a = await replica({ limit: 3, windowMs: 60_000 }, { timeoutMs: 300, cooldownMs: 500 });
    try {
      await nats.stop();
      const key = freshKey();
      const t0 = Date.now();
      const d = [];
      for (let i = 0; i < 6; i++) d.push(await a.b.take(key));
      assert.ok(d.every((x) => x.allowed));
      assert.ok(Date.now() - t0 < 5_000, `fail-open took ${Date.now() - t0} ms`);
      assert.ok(
        a.warnings.some((w) => /failing open/.test(w)),
        a.warnings.join('; '),
      );
    } finally {
      await nats.start();
    }
    const until = Date.now() + 15_000;
    let limited = false;
    while (!limited && Date.now() < until) {
      const key = freshKey();
      const d = [];
      for (let i = 0; i < 4; i++) d.push(await a.b.take(key));
      limited = d.filter((x) => x.allowed).length === 3 && !d[3].allowed;
      if (!limited) await sleep(200);
    }
    assert.ok(limited, 'the limit applies again after NATS came back');
  });
});

describe('client addresses as budgets', () => {
  it('an IPv6 client is its /64; an IPv4-mapped address is the IPv4 address', () => {
    assert.equal(clientAddress('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
    assert.equal(clientAddress('2001:db8:1:2::9'), '2001:db8:1:2::/64');
    assert.equal(clientAddress('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientAddress('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(clientAddress('10.1.2.3'), '10.1.2.3');
  });
});
