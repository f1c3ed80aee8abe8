import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createAudit } from '../services/ingest/audit.ts';
import { TenantCaps } from '../services/ingest/tenant-caps.ts';

test('edge caps are per tenant and per cap; a slot given back twice is counted once', () => {
  const caps = new TenantCaps({ uploads: 2, sync_waits: 1, streams: 1 });
  const a1 = caps.acquire('uploads', 'acme');
  caps.acquire('uploads', 'acme');
  assert.throws(
    () => caps.acquire('uploads', 'acme'),
    (e: any) => e.code === 'FOLIO_QUOTA_EXCEEDED' && e.details.quota === 'uploads' && e.details.limit === 2,
  );
  caps.acquire('uploads', 'globex');
  caps.acquire('sync_waits', 'acme');
  a1();
  a1();
  assert.equal(caps.inUse('uploads', 'acme'), 1);
  caps.acquire('uploads', 'acme');
  assert.throws(() => caps.acquire('uploads', 'acme'));
});

test('audit lines: refusals of one client for one reason are folded (with a count), key use is always written', () => {
  const lines: any[] = [];
  const sink = new Writable({
    write: (c, _e, cb) => (
      lines.push(
        ...String(c)
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      ),
      cb()
    ),
  });
  let now = 0;
  const audit = createAudit(pino(sink), 10_000, () => now);
  for (let i = 0; i < 50; i++) audit.record('auth.denied', { ip: '10.0.0.1', reason: 'unknown' });
  audit.record('auth.denied', { ip: '10.0.0.2', reason: 'unknown' });
  now = 10_001;
  audit.record('auth.denied', { ip: '10.0.0.1', reason: 'unknown' });
  for (let i = 0; i < 3; i++) audit.record('key.used', { tenant: 'acme', keyId: 'abcd1234' });
  const denied = lines.filter((l) => l.event === 'auth.denied');
  assert.deepEqual(
    denied.map((l) => [l.ip, l.suppressed]),
    [
      ['10.0.0.1', undefined],
      ['10.0.0.2', undefined],
      ['10.0.0.1', 49],
    ],
  );
  assert.ok(denied.every((l) => l.component === 'audit' && l.level === 40));
  assert.equal(lines.filter((l) => l.event === 'key.used').length, 3);
});

test('load shedding: past the replica-wide cap every tenant gets 503 FOLIO_OVERLOADED (retryable), and a slot given back lets the next in', () => {
  const caps = new TenantCaps({ uploads: 8, sync_waits: 8, streams: 8 }, { uploads: 3 });
  const release = caps.acquire('uploads', 'acme');
  caps.acquire('uploads', 'acme');
  caps.acquire('uploads', 'globex');
  for (const tenant of ['acme', 'globex', 'initech']) {
    assert.throws(
      () => caps.acquire('uploads', tenant),
      (e: any) => e.code === 'FOLIO_OVERLOADED' && e.status === 503 && e.retryable === true && e.details.limit === 3 && e.details.retryAfterS === 1,
    );
  }
  caps.acquire('streams', 'initech'); // other caps are not shed
  release();
  release();
  caps.acquire('uploads', 'initech');
  assert.throws(
    () => caps.acquire('uploads', 'acme'),
    (e: any) => e.code === 'FOLIO_OVERLOADED',
  );
});
