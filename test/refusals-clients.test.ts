import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { startTestStack, waitForTerminal, type TestStack } from './helpers/stack.ts';

// A real page image of ~92 KB: larger than what the socket takes in one write, so a client is
// still sending its body when the refusal comes (a body of a few KB would hide the reset).
const PNG = new URL('./fixtures/english.png', import.meta.url).pathname;
const FETCH_CLIENT = new URL('./helpers/concurrent-fetch.mjs', import.meta.url).pathname;
const PY_CLIENT = new URL('./helpers/concurrent-uploads.py', import.meta.url).pathname;
const KEY = 'refusals-key-AAAAAAAAAAAAAAAAAAAAAA';
const N = 500;
const DRAIN_BYTES = 2 * 1024 * 1024;

type Outcome = { status?: number; retryAfter?: string | null; id?: string; error?: string };

/** Runs a client program; resolves one outcome per line it printed. */
function runClient(cmd: string, args: string[]): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(
            out
              .trim()
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l)),
          )
        : reject(new Error(`${cmd} exited ${code}: ${err}`)),
    );
  });
}

const tally = (outcomes: Outcome[]) => {
  const t: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.status ? String(o.status) : `error ${o.error?.split(':')[0]}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
};

/** Every request got an HTTP status: 202, or a 429/503 that says when to come back; every accepted job ends. */
async function assertEveryoneAnswered(stack: TestStack, client: string, outcomes: Outcome[]) {
  const counts = tally(outcomes);
  console.log(`${client}: ${N} concurrent uploads →`, counts);
  assert.equal(outcomes.length, N);
  const unanswered = outcomes.filter((o) => !o.status);
  assert.deepEqual(unanswered, [], `${client}: requests with no HTTP status: ${JSON.stringify(counts)}`);
  for (const o of outcomes) assert.ok([202, 429, 503].includes(o.status!), `${client}: status ${o.status}`);
  const refused = outcomes.filter((o) => o.status !== 202);
  assert.ok(refused.length > 0, `${client}: the per-tenant upload cap (8) was never reached: the test lost its point`);
  for (const o of refused) assert.match(String(o.retryAfter), /^[1-9]\d*$/, `${client}: a ${o.status} without Retry-After`);
  const accepted = outcomes.filter((o) => o.status === 202);
  assert.ok(accepted.length >= 8, `${client}: ${accepted.length} accepted`);
  const ends = await Promise.all(accepted.map((o) => waitForTerminal(stack.url, o.id!, 120_000, { 'x-api-key': KEY })));
  assert.deepEqual([...new Set(ends.map((e) => e.status))], ['completed']);
}

/** Writes a raw request and collects what comes back until the server closes (or `untilMs`). */
function raw(
  url: string,
  head: string,
  o: { body?: (s: net.Socket) => void; untilMs?: number } = {},
): Promise<{ text: string; closedAfterMs: number; wrote: number }> {
  const { port } = new URL(url);
  const t0 = Date.now();
  return new Promise((resolve) => {
    let text = '';
    let wrote = 0;
    const s = net.connect(Number(port), '127.0.0.1', () => {
      s.write(head);
      o.body?.(s);
    });
    const write = s.write.bind(s);
    s.write = ((chunk: Buffer | string, ...rest: never[]) => ((wrote += chunk.length), write(chunk, ...rest))) as typeof s.write;
    s.on('data', (d) => (text += d));
    s.on('error', () => {});
    s.on('close', () => resolve({ text, closedAfterMs: Date.now() - t0, wrote }));
    setTimeout(() => s.destroy(), o.untilMs ?? 20_000).unref();
  });
}

describe('refusals every HTTP client can read', () => {
  let stack: TestStack;
  before(async () => {
    // Defaults (8 concurrent uploads per tenant), a small drain bound for the bounded-drain check.
    stack = await startTestStack({ env: { FOLIO_API_KEYS: `acme=${KEY}`, FOLIO_HTTP_REFUSAL_DRAIN_BYTES: String(DRAIN_BYTES) } });
  });
  after(async () => stack?.close());

  test(`${N} concurrent uploads from Node's fetch (undici, default settings) each get 202, 429 or 503, never a broken pipe`, async () => {
    await assertEveryoneAnswered(stack, 'fetch', await runClient(process.execPath, [FETCH_CLIENT, `${stack.url}/v1/jobs`, PNG, String(N), KEY]));
  });

  test(`${N} concurrent uploads from Python's requests (a thread and a connection each) each get 202, 429 or 503`, async () => {
    await assertEveryoneAnswered(stack, 'requests', await runClient('python3', [PY_CLIENT, `${stack.url}/v1/jobs`, PNG, String(N), KEY]));
  });

  test('Expect: 100-continue: a refused request is answered before its body is sent; an accepted one gets 100 Continue', async () => {
    const head = (key: string) =>
      `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nx-api-key: ${key}\r\nContent-Type: image/png\r\nContent-Length: 92250\r\nExpect: 100-continue\r\n\r\n`;
    const refused = await raw(stack.url, head('wrong-key-wrong-key-wrong-key-wrong'));
    assert.match(refused.text, /^HTTP\/1\.1 401 /, 'the final answer comes first, with no 100 Continue before it');
    assert.doesNotMatch(refused.text, /100 Continue/);
    const png = (await import('node:fs')).readFileSync(PNG);
    let got = '';
    const accepted = await raw(stack.url, head(KEY), {
      untilMs: 15_000,
      body: (s) =>
        s.on('data', (d) => {
          got += d;
          // The body goes only after the go-ahead, as a client that sent Expect does.
          if (/^HTTP\/1\.1 100 Continue\r\n\r\n$/.test(got)) s.write(png);
          if (/HTTP\/1\.1 202/.test(got)) s.end();
        }),
    });
    assert.match(accepted.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 202 /);
  });

  test('the drain is bounded: a refused body past FOLIO_HTTP_REFUSAL_DRAIN_BYTES has its connection cut', async () => {
    const size = 20 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024);
    const r = await raw(
      stack.url,
      `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nx-api-key: wrong-key-wrong-key-wrong-key-wrong\r\nContent-Type: image/png\r\nContent-Length: ${size}\r\n\r\n`,
      {
        body: (s) => {
          let sent = 0;
          const pump = () => {
            while (sent < size && !s.destroyed) {
              sent += chunk.length;
              if (!s.write(chunk)) return void s.once('drain', pump);
            }
          };
          pump();
        },
      },
    );
    assert.match(r.text, /^HTTP\/1\.1 401 /, 'the answer came first');
    assert.ok(r.wrote < size / 2, `the server read ${r.wrote} of ${size} bytes of a refused body before closing`);
    assert.equal((await fetch(`${stack.url}/healthz`)).status, 200);
  });
});
