import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestStack, upload, type TestStack } from './helpers/stack.ts';
import { makePdf } from './helpers/make-pdf.ts';
import { exitCodeFor, EXIT } from '../cli/main.ts';
import { ROUTES } from '../client/index.ts';

const BIN = new URL('../bin/folio.mjs', import.meta.url).pathname;
const KEY = 'cli-key-AAAAAAAAAAAAAAAAAAAAAAAAA';
const fixture = new URL('./fixtures/english.png', import.meta.url).pathname;

/** Runs the real `folio` command; resolves its exit code and output. */
function folio(
  args: string[],
  o: { env?: Record<string, string>; interruptWhen?: RegExp } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...o.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (o.interruptWhen?.test(stderr)) child.kill('SIGINT');
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('folio against a running server', () => {
  let stack: TestStack;
  let env: Record<string, string>;
  before(async () => {
    stack = await startTestStack({ env: { FOLIO_API_KEYS: `acme=${KEY}` } });
    env = { FOLIO_URL: stack.url, FOLIO_API_KEY: KEY };
  });
  after(async () => stack?.close());

  test('run FILE… -o DIR uploads each file, shows pages done/total per file and writes .md and .json; exit 0', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-cli-'));
    const pdf = path.join(dir, 'three.pdf');
    writeFileSync(pdf, makePdf(['one', 'two', 'three']));
    const out = path.join(dir, 'out');
    const r = await folio(['run', fixture, pdf, '-o', out], { env });
    assert.equal(r.code, EXIT.done, r.stderr);
    assert.match(r.stderr, /three\.pdf\s+\[#+\] 3\/3 pages\s+completed/);
    assert.match(r.stderr, /english\.png\s+\[#+\] 1\/1 pages\s+completed/);
    assert.match(readFileSync(path.join(out, 'english.md'), 'utf8'), /SIMULATED OUTPUT/);
    assert.equal(JSON.parse(readFileSync(path.join(out, 'three.json'), 'utf8')).pages.length, 3);
  });

  test('submit, status, get and cancel; the key from --key works like the environment', async () => {
    const sub = await folio(['submit', fixture, '--url', stack.url, '--key', KEY, '--cache', 'bypass']);
    assert.equal(sub.code, 0, sub.stderr);
    const { id } = JSON.parse(sub.stdout);
    const watched = await folio(['watch', id], { env });
    assert.equal(watched.code, EXIT.done, watched.stderr);
    const status = await folio(['status', id], { env });
    assert.equal(JSON.parse(status.stdout).status, 'completed');
    const md = await folio(['get', id], { env });
    assert.match(md.stdout, /SIMULATED OUTPUT/);
    assert.equal((await folio(['cancel', id], { env })).code, 0);
    const gone = await folio(['status', id], { env });
    assert.equal(gone.code, EXIT.failed);
    assert.match(gone.stderr, /FOLIO_JOB_NOT_FOUND/);
  });

  test('exit codes: failed (refused upload, wrong key), usage', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-cli-'));
    const junk = path.join(dir, 'junk.txt');
    writeFileSync(junk, 'not a document');
    const bad = await folio(['run', junk, '-o', dir], { env });
    assert.equal(bad.code, EXIT.failed);
    assert.match(bad.stderr, /FOLIO_UNSUPPORTED_MEDIA_TYPE/);
    assert.equal((await folio(['status', 'x'], { env: { ...env, FOLIO_API_KEY: 'wrong-key-wrong-key-wrong' } })).code, EXIT.failed);
    assert.equal((await folio(['run', fixture], { env })).code, EXIT.usage, 'run without -o');
    assert.equal((await folio(['frobnicate'], { env })).code, EXIT.usage);
    assert.equal((await folio(['status', '--nope'], { env })).code, EXIT.usage);
  });

  test('partial jobs exit 3; any failure wins', () => {
    assert.equal(exitCodeFor(['completed', 'partial']), EXIT.partial);
    assert.equal(exitCodeFor(['partial', 'failed']), EXIT.failed);
    assert.equal(exitCodeFor(['cancelled']), EXIT.failed);
    assert.equal(exitCodeFor(['completed']), EXIT.done);
  });

  test("the client's operations exist in the served OpenAPI document with the same methods", async () => {
    const doc = await (await fetch(`${stack.url}/docs/json`)).json();
    for (const [operationId, [method, p]] of Object.entries(ROUTES)) assert.equal(doc.paths[p]?.[method]?.operationId, operationId);
  });
});

describe('folio interrupted', () => {
  let stack: TestStack;
  before(async () => {
    // Ingest alone: the job stays queued, so `watch` waits until interrupted.
    stack = await startTestStack({ services: ['ingest'] });
  });
  after(async () => stack?.close());

  test('Ctrl-C while watching exits 130', async () => {
    const { id } = await (await upload(stack.url, '/v1/jobs', readFileSync(fixture), { filename: 'english.png' })).json();
    const r = await folio(['watch', id], { env: { FOLIO_URL: stack.url }, interruptWhen: /queued/ });
    assert.equal(r.code, EXIT.interrupted, r.stderr);
  });
});
