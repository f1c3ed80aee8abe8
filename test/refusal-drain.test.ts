// The drain after a refusal is bounded in time as well as bytes (README: FOLIO_HTTP_REFUSAL_DRAIN_MS):
// a client that stops sending its refused body has its connection cut at the deadline, having
// read its 429 first; one that sends the rest in time keeps its connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { drainRefusedBody } from '../services/ingest/refusal-drain.ts';

async function refusingServer(maxMs: number) {
  const server = http.createServer((req, res) => {
    drainRefusedBody(req, { maxBytes: 1 << 20, maxMs });
    res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"error":{"code":"FOLIO_QUOTA_EXCEEDED"}}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Sends the headers and `sent` of `length` body bytes, then waits; resolves what came back and when the socket closed. */
function stalledUpload(port: number, length: number, sent: number, thenSendRestAfterMs?: number) {
  return new Promise<{ answer: string; closedAfterMs: number | null }>((resolve) => {
    const t0 = Date.now();
    let answer = '';
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n${'x'.repeat(sent)}`);
      if (thenSendRestAfterMs !== undefined) setTimeout(() => s.write('x'.repeat(length - sent)), thenSendRestAfterMs);
    });
    s.on('data', (d) => (answer += d));
    s.on('error', () => {});
    s.on('close', () => resolve({ answer, closedAfterMs: Date.now() - t0 }));
    setTimeout(() => (s.destroy(), resolve({ answer, closedAfterMs: null })), 3_000).unref();
  });
}

test('a refused body that stalls is cut at the drain deadline, after its 429 was sent', async () => {
  const { server, port } = await refusingServer(300);
  try {
    const r = await stalledUpload(port, 100_000, 10);
    assert.match(r.answer, /^HTTP\/1\.1 429/);
    assert.ok(r.closedAfterMs !== null && r.closedAfterMs >= 250 && r.closedAfterMs < 2_000, `closed after ${r.closedAfterMs} ms`);
  } finally {
    server.close();
  }
});

test('a refused body that arrives within the deadline is read, and the connection stays open', async () => {
  const { server, port } = await refusingServer(1_000);
  try {
    const r = await stalledUpload(port, 1_000, 10, 100);
    assert.match(r.answer, /^HTTP\/1\.1 429/);
    assert.equal(r.closedAfterMs, null, 'kept for the next request');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
