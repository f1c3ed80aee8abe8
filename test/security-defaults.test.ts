import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { loadConfig, checkExposure, ExposureError, isLoopback } from '../shared/config/index.ts';
import { startNats } from './helpers/nats-server.ts';

const KEY = 'acme-key-AAAAAAAAAAAAAAAAAAAAAAAA==';

test('open (no keys) means loopback only: on the network it needs FOLIO_ALLOW_UNAUTHENTICATED_NETWORK=true', () => {
  assert.match(checkExposure(loadConfig({}), '127.0.0.1')!, /OPEN.*127\.0\.0\.1 only/);
  for (const host of ['0.0.0.0', '::', '10.1.2.3', 'folio.internal']) {
    assert.throws(
      () => checkExposure(loadConfig({}), host),
      (e: Error) => e instanceof ExposureError && /FOLIO_ALLOW_UNAUTHENTICATED_NETWORK=true/.test(e.message) && /FOLIO_API_KEYS/.test(e.message),
    );
  }
  assert.match(checkExposure(loadConfig({ FOLIO_ALLOW_UNAUTHENTICATED_NETWORK: 'true' }), '0.0.0.0')!, /OPEN to anyone/);
  assert.equal(checkExposure(loadConfig({ FOLIO_API_KEYS: `acme=${KEY}` }), '0.0.0.0'), null);
  for (const h of ['127.0.0.1', '127.8.9.1', '::1', '[::1]', 'localhost']) assert.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '::', '::ffff:10.0.0.1', '192.168.1.2']) assert.ok(!isLoopback(h), h);
});

/** Runs ingest's real entry point until it logs `until` or exits; returns its output and exit code. */
function runIngest(env: Record<string, string>, until: RegExp): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/ingest/main.ts'], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const onData = (d: Buffer) => {
      out += d;
      if (until.test(out)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ out, code });
    });
  });
}

test('ingest started without keys listens on 127.0.0.1 and says at start-up that it is open; 0.0.0.0 without keys stops it', async () => {
  const nats = await startNats();
  try {
    const open = await runIngest({ NATS_URL: nats.url, FOLIO_HTTP_PORT: '0' }, /ingest listening/);
    const lines = open.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const warn = lines.find((l) => /No API keys configured/.test(l.msg ?? ''));
    assert.ok(warn, open.out);
    assert.equal(warn.level, 40, 'a warning');
    assert.match(warn.msg, /OPEN, with no authentication, and listens on 127\.0\.0\.1 only/);
    assert.match(lines.find((l) => l.msg === 'ingest listening').url, /^http:\/\/127\.0\.0\.1:\d+$/);

    const refused = await runIngest({ NATS_URL: nats.url, FOLIO_HTTP_PORT: '0', FOLIO_HTTP_HOST: '0.0.0.0' }, /ingest listening/);
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /Refusing to listen on 0\.0\.0\.0 without API keys/);
    assert.doesNotMatch(refused.out, /ingest listening/);
  } finally {
    await nats.destroy();
  }
});
