import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';
import { EXIT, DEFAULT_CONCURRENCY } from '../cli/main.ts';
import { DEFAULT_RETRY, FolioApiError, FolioClient, isRetryable, retryAfterMs, withJitter, type RetryWait } from '../client/index.ts';

const BIN = new URL('../bin/folio.mjs', import.meta.url).pathname;
const KEY = 'cli-limits-key-AAAAAAAAAAAAAAAAAAAAA';

function folio(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}

/** n small distinct page images (distinct so none is answered from the result cache). */
async function tinyImages(n: number): Promise<{ dir: string; files: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-cli-limits-'));
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const file = path.join(dir, `page-${String(i).padStart(3, '0')}.png`);
    writeFileSync(
      file,
      await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: i % 256, g: (i * 7) % 256, b: 200 } } })
        .png()
        .toBuffer(),
    );
    files.push(file);
  }
  return { dir, files };
}

describe('folio run keeps within the server’s limits', () => {
  let stack: TestStack;
  before(async () => {
    // The per-tenant caps at their defaults (8 uploads, 32 event streams); test stacks turn the rate limit off.
    stack = await startTestStack({ env: { FOLIO_API_KEYS: `acme=${KEY}` } });
    // The stack's first job pays its start-up (tens of seconds on a loaded machine): not what is measured here.
    const first = await (
      await upload(stack.url, '/v1/jobs', readFileSync(new URL('./fixtures/english.png', import.meta.url)), {
        filename: 'english.png',
        headers: { 'x-api-key': KEY },
      })
    ).json();
    await waitForTerminal(stack.url, first.id, 120_000, { 'x-api-key': KEY });
  });
  after(async () => stack?.close());

  test('run on 100 files at the default limits completes all 100 and exits 0', async () => {
    const { dir, files } = await tinyImages(100);
    const out = path.join(dir, 'out');
    const r = await folio(['run', ...files, '-o', out], { FOLIO_URL: stack.url, FOLIO_API_KEY: KEY });
    console.log(
      `folio run, 100 files, --concurrency ${DEFAULT_CONCURRENCY} (default): exit ${r.code} in ${r.ms} ms; waits said: ${r.stderr.split('\n').filter((l) => l.startsWith('waiting')).length}`,
    );
    assert.equal(
      r.code,
      EXIT.done,
      r.stderr
        .split('\n')
        .filter((l) => !/\] 1\/1 pages/.test(l))
        .join('\n'),
    );
    assert.equal(readdirSync(out).filter((f) => f.endsWith('.md')).length, 100);
    assert.equal(readdirSync(out).filter((f) => f.endsWith('.json')).length, 100);
    assert.doesNotMatch(r.stderr, /FOLIO_QUOTA_EXCEEDED|failed/, 'the default concurrency stays within the default caps');
    // Measured on the shared 2-core machine under load 15-25: about 40 s after the stack's first job.
    assert.ok(r.ms < 120_000, `100 tiny files took ${r.ms} ms`);
  });
});

describe('folio run waits out refusals that clear, and says so', () => {
  let stack: TestStack;
  before(async () => {
    // One upload at a time per tenant, 10 requests a second, 200 KB at most per upload.
    stack = await startTestStack({
      env: {
        FOLIO_API_KEYS: `acme=${KEY}`,
        FOLIO_MAX_UPLOADS_PER_TENANT: '1',
        FOLIO_RATE_LIMIT_MAX: '10',
        FOLIO_RATE_LIMIT_WINDOW_S: '1',
        FOLIO_MAX_UPLOAD_BYTES: String(200 * 1024),
      },
    });
  });
  after(async () => stack?.close());
  const env = () => ({ FOLIO_URL: stack.url, FOLIO_API_KEY: KEY });

  test('over the upload cap and the rate limit: every file completes, each wait is printed with its reason, exit 0', async () => {
    const { dir, files } = await tinyImages(20);
    const r = await folio(['run', ...files, '-o', path.join(dir, 'out'), '--concurrency', '8'], env());
    assert.equal(r.code, EXIT.done, r.stderr);
    assert.equal(readdirSync(path.join(dir, 'out')).filter((f) => f.endsWith('.md')).length, 20);
    const waits = r.stderr.split('\n').filter((l) => l.startsWith('waiting'));
    assert.ok(
      waits.some((l) => /^waiting \d+(\.\d)?s: FOLIO_QUOTA_EXCEEDED: At most 1 concurrent uploads per tenant \(POST \/v1\/jobs, attempt \d+\)$/.test(l)),
      waits.join('\n'),
    );
    assert.ok(
      waits.some((l) => /^waiting \d+(\.\d)?s: FOLIO_RATE_LIMITED: /.test(l)),
      waits.join('\n'),
    );
  });

  test('a refusal that will not clear (too large, unsupported type) fails the file at once, without waiting', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-cli-limits-'));
    const big = path.join(dir, 'big.png');
    writeFileSync(
      big,
      await sharp({ create: { width: 1200, height: 1200, channels: 3, background: '#888' } })
        .png({ compressionLevel: 0 })
        .toBuffer(),
    );
    const junk = path.join(dir, 'junk.txt');
    writeFileSync(junk, 'not a document');
    mkdirSync(path.join(dir, 'out'));
    // One at a time: with this stack's cap of one upload, two at once would wait for each other.
    const r = await folio(['run', big, junk, '-o', path.join(dir, 'out'), '--concurrency', '1'], env());
    assert.equal(r.code, EXIT.failed);
    assert.match(r.stderr, /big\.png: FOLIO_UPLOAD_TOO_LARGE/);
    assert.match(r.stderr, /junk\.txt: FOLIO_UNSUPPORTED_MEDIA_TYPE/);
    assert.doesNotMatch(r.stderr, /^waiting/m);
  });

  test('--concurrency must be a whole number', async () => {
    assert.equal((await folio(['run', 'x.png', '-o', '/tmp/x', '--concurrency', '0'], env())).code, EXIT.usage);
  });
});

describe('the SDK’s retry policy', () => {
  /** A fetch that answers from a script, counting calls. */
  const scripted = (answers: Array<{ status: number; headers?: Record<string, string>; body?: unknown }>) => {
    const calls: string[] = [];
    const f = (async (url: string) => {
      calls.push(url);
      const a = answers[Math.min(calls.length - 1, answers.length - 1)];
      return new Response(JSON.stringify(a.body ?? {}), { status: a.status, headers: { 'content-type': 'application/json', ...a.headers } });
    }) as unknown as typeof fetch;
    return { f, calls };
  };
  const refusal = (code: string, message = 'no') => ({ error: { code, message } });

  test('429 and 503 are retried after Retry-After plus jitter, and each wait is reported', async () => {
    const { f, calls } = scripted([
      { status: 429, headers: { 'retry-after': '1' }, body: refusal('FOLIO_QUOTA_EXCEEDED') },
      { status: 503, headers: { 'retry-after': '1' }, body: refusal('FOLIO_UNAVAILABLE') },
      { status: 200, body: { id: 'j1', status: 'completed' } },
    ]);
    const waits: RetryWait[] = [];
    const t0 = Date.now();
    const job = await new FolioClient({ baseUrl: 'http://folio.test', fetch: f, retry: { onWait: (w) => waits.push(w) } }).status('j1');
    assert.equal(job.id, 'j1');
    assert.equal(calls.length, 3);
    assert.deepEqual(
      waits.map((w) => [w.attempt, w.error.code, w.call]),
      [
        [1, 'FOLIO_QUOTA_EXCEEDED', 'GET /v1/jobs/j1'],
        [2, 'FOLIO_UNAVAILABLE', 'GET /v1/jobs/j1'],
      ],
    );
    for (const w of waits) assert.ok(w.waitMs >= 1000 && w.waitMs <= 1500, `waited ${w.waitMs} ms after Retry-After: 1`);
    assert.ok(Date.now() - t0 >= 2000);
  });

  test('413, 415 and 400 are not retried', async () => {
    for (const [status, code] of [
      [413, 'FOLIO_UPLOAD_TOO_LARGE'],
      [415, 'FOLIO_UNSUPPORTED_MEDIA_TYPE'],
      [400, 'FOLIO_INVALID_OPTIONS'],
    ] as const) {
      const { f, calls } = scripted([{ status, body: refusal(code) }]);
      await assert.rejects(new FolioClient({ baseUrl: 'http://folio.test', fetch: f }).submit(new Blob(['x']), 'x.png'), (e: FolioApiError) => e.code === code);
      assert.equal(calls.length, 1, `${status} was retried`);
    }
  });

  test('a refusal that would outlast the wait budget (a daily quota) is thrown at once; attempts are bounded', async () => {
    const daily = scripted([{ status: 429, headers: { 'retry-after': '86400' }, body: refusal('FOLIO_QUOTA_EXCEEDED') }]);
    const t0 = Date.now();
    await assert.rejects(
      new FolioClient({ baseUrl: 'http://folio.test', fetch: daily.f }).status('j'),
      (e: FolioApiError) => e.status === 429 && e.retryAfterMs === 86_400_000,
    );
    assert.equal(daily.calls.length, 1);
    assert.ok(Date.now() - t0 < 1000);
    const always = scripted([{ status: 503, headers: { 'retry-after': '0' }, body: refusal('FOLIO_UNAVAILABLE') }]);
    await assert.rejects(new FolioClient({ baseUrl: 'http://folio.test', fetch: always.f, retry: { maxAttempts: 3 } }).status('j'));
    assert.equal(always.calls.length, 3);
  });

  test('an upload-cap refusal lowers the client’s own upload concurrency to the cap', async () => {
    const { f } = scripted([
      {
        status: 429,
        headers: { 'retry-after': '0' },
        body: { error: { code: 'FOLIO_QUOTA_EXCEEDED', message: 'At most 2 concurrent uploads per tenant', details: { quota: 'uploads', limit: 2, used: 2 } } },
      },
      { status: 202, body: { id: 'j' } },
    ]);
    const client = new FolioClient({ baseUrl: 'http://folio.test', fetch: f });
    assert.equal(client.uploadConcurrency, 4);
    await client.submit(new Blob(['x']), 'x.png');
    assert.equal(client.uploadConcurrency, 2);
  });

  test('Retry-After as seconds or an HTTP date; jitter adds up to half (at least 250 ms), never less', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(new Date(10_000 + 5_000).toUTCString(), 10_000), 5000);
    assert.equal(retryAfterMs(null), undefined);
    assert.equal(retryAfterMs('soon'), undefined);
    assert.equal(
      withJitter(2000, () => 0),
      2000,
    );
    assert.equal(
      withJitter(2000, () => 1),
      3000,
    );
    assert.equal(
      withJitter(undefined, () => 1),
      1500,
    );
    assert.equal(
      withJitter(0, () => 1),
      250,
    );
    assert.deepEqual([429, 503, 413, 415, 400, 500].map(isRetryable), [true, true, false, false, false, false]);
    // As the README says: 10 attempts and 5 minutes of waiting a call.
    assert.deepEqual(DEFAULT_RETRY, { maxAttempts: 10, maxWaitMs: 300_000 });
  });
});
