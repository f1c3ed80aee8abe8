/**
 * Documents by URL (issue 10): only http(s); private, loopback, link-local, multicast and
 * unspecified targets refused after DNS resolution, with the connection going to the address
 * that was checked; every redirect checked again; the upload's size limit and a deadline.
 * A local HTTP server plays the document host (reached through the allow-list settings).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fetchToFile, isForbiddenAddress, type FetchPolicy, type LookupFn } from '../services/ingest/fetch-url.ts';
import { cidrList, loadConfig, ConfigError } from '../shared/config/index.ts';
import { FolioError } from '../shared/operations/index.ts';

const png = readFileSync(new URL('./fixtures/english.png', import.meta.url));
const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'folio-fetch-'));
let server: http.Server;
let base: string;
let port: number;
const hits: string[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url!);
    const u = new URL(req.url!, 'http://x');
    const to = u.searchParams.get('to');
    if (u.pathname === '/doc.png')
      return res.writeHead(200, { 'content-type': 'image/png', 'content-disposition': 'attachment; filename="scan 1.png"' }).end(png);
    if (u.pathname === '/plain/page.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    if (u.pathname === '/redirect' && to) return res.writeHead(302, { location: to }).end();
    if (u.pathname === '/chain') {
      const n = Number(u.searchParams.get('n'));
      return res.writeHead(301, { location: n > 1 ? `/chain?n=${n - 1}` : '/plain/page.png' }).end();
    }
    if (u.pathname === '/huge-declared') return res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) }).end();
    if (u.pathname === '/huge-chunked') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const pump = () => {
        while (sent < 4 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    if (u.pathname === '/slow') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(png.subarray(0, 100)); // then nothing, ever
      return;
    }
    res.writeHead(404).end('no');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const policy = (o: Partial<FetchPolicy> = {}): FetchPolicy => ({ tmpDir, maxBytes: 1024 * 1024, timeoutMs: 10_000, maxRedirects: 5, ...o });
/** Only the test server's address is allowed, as FOLIO_FETCH_ALLOW_CIDRS=127.0.0.1/32 would. */
const onlyTestServer = () => policy({ allow: cidrList(['127.0.0.1/32']) });

async function refused(p: Promise<unknown>, code: string): Promise<FolioError> {
  const err = await p.then(
    () => assert.fail(`expected ${code}`),
    (e) => e,
  );
  assert.ok(err instanceof FolioError, String(err));
  assert.equal(err.code, code, err.message);
  return err;
}

test('a document is fetched to a temp file: hashed, named from Content-Disposition or the path, the temp file removed on discard', async () => {
  const got = await fetchToFile(`${base}/doc.png`, onlyTestServer());
  assert.equal(got.file.bytes, png.length);
  assert.equal(got.name, 'scan 1.png');
  assert.deepEqual(readFileSync(got.file.path), png);
  await got.file.discard();
  const plain = await fetchToFile(`${base}/plain/page.png?sig=secret`, onlyTestServer());
  assert.equal(plain.name, 'page.png');
  await plain.file.discard();
  assert.deepEqual(readdirSync(tmpDir), []);
});

test('loopback, private, link-local (cloud metadata), multicast and unspecified targets are refused, IPv4 and IPv6, IPv4-mapped included', async () => {
  const before = hits.length;
  for (const url of [
    `${base}/doc.png`, // 127.0.0.1 without the allow-list
    'http://10.0.0.1/doc.pdf',
    'http://172.16.5.4/x',
    'http://192.168.1.1/x',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/x',
    'http://0.0.0.0/x',
    'http://224.0.0.1/x',
    `http://[::1]:${port}/doc.png`,
    'http://[::]/x',
    'http://[fe80::1]/x',
    'http://[fd12:3456::1]/x',
    'http://[ff02::1]/x',
    `http://[::ffff:127.0.0.1]:${port}/doc.png`,
    'http://[::ffff:a9fe:a9fe]/latest/meta-data/', // 169.254.169.254, IPv4-mapped
    'http://[2002:7f00:1::1]/x', // 6to4 wrapping 127.0.0.1
    'http://2130706433/x', // 127.0.0.1 as one number (the URL parser normalises it)
    'http://0x7f.1/x',
  ]) {
    const err = await refused(fetchToFile(url, policy()), 'FOLIO_URL_FORBIDDEN');
    assert.match(err.message, /private, loopback, link-local, multicast or unspecified/);
  }
  assert.equal(hits.length, before, 'no refused URL reached the server');
});

test('public addresses are allowed by the address rules; the allow-list lets chosen private ones through', () => {
  for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isForbiddenAddress(a), false, a);
  for (const a of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '::1', '::ffff:10.0.0.1', 'fe80::1', '0.0.0.0', '::'])
    assert.equal(isForbiddenAddress(a), true, a);
  const allow = cidrList(['10.20.0.0/16', 'fd00::/8']);
  assert.equal(isForbiddenAddress('10.20.3.4', { allow }), false);
  assert.equal(isForbiddenAddress('10.21.3.4', { allow }), true);
  assert.equal(isForbiddenAddress('fd00::5', { allow }), false);
  assert.equal(isForbiddenAddress('127.0.0.1', { allowPrivate: true }), false);
});

test('only http and https, without credentials in the URL', async () => {
  for (const url of [
    'ftp://example.com/a.pdf',
    'file:///etc/passwd',
    'gopher://example.com/',
    'data:application/pdf;base64,JVBERi0=',
    'http://user:pw@example.com/a.pdf',
    'not a url',
    '/relative/path.pdf',
  ]) {
    await refused(fetchToFile(url, policy()), 'FOLIO_URL_INVALID');
  }
});

test('a host name is checked on what it resolves to: any private address among its answers refuses it', async () => {
  const lookup: LookupFn = async (host) =>
    host === 'evil.example'
      ? [{ address: '127.0.0.1', family: 4 }]
      : host === 'mixed.example'
        ? [
            { address: '93.184.216.34', family: 4 },
            { address: '10.0.0.7', family: 4 },
          ]
        : [];
  const err = await refused(fetchToFile('http://evil.example/doc.pdf', policy({ lookup })), 'FOLIO_URL_FORBIDDEN');
  assert.equal(err.details?.address, '127.0.0.1');
  await refused(fetchToFile('http://mixed.example/doc.pdf', policy({ lookup })), 'FOLIO_URL_FORBIDDEN');
  await refused(fetchToFile('http://nowhere.example/doc.pdf', policy({ lookup })), 'FOLIO_FETCH_FAILED');
});

test('the connection goes to the checked address: a DNS answer that changes after the check (rebinding) is never used', async () => {
  let calls = 0;
  // First answer: the allowed test server; any later answer: an address the check would refuse.
  const lookup: LookupFn = async () => (calls++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.255.255.1', family: 4 }]);
  const got = await fetchToFile(`http://docs.rebind.example:${port}/doc.png`, { ...onlyTestServer(), lookup });
  assert.equal(got.file.bytes, png.length);
  assert.equal(calls, 1, 'one resolution per hop, the one that was checked');
  await got.file.discard();
});

test('every redirect is checked again: a redirect to a private or metadata address is refused', async () => {
  for (const to of [
    'http://10.0.0.1/doc.pdf',
    'http://169.254.169.254/latest/meta-data/iam',
    `http://[::1]:${port}/doc.png`,
    'file:///etc/passwd',
    'http://rebound.example/x',
  ]) {
    const lookup: LookupFn = async () => [{ address: '192.168.0.10', family: 4 }];
    const code = to.startsWith('file:') ? 'FOLIO_URL_INVALID' : 'FOLIO_URL_FORBIDDEN';
    await refused(fetchToFile(`${base}/redirect?to=${encodeURIComponent(to)}`, { ...onlyTestServer(), lookup }), code);
  }
});

test('redirects are followed (relative ones too) up to the limit of 5', async () => {
  const five = await fetchToFile(`${base}/chain?n=5`, onlyTestServer());
  assert.equal(five.file.bytes, png.length);
  assert.equal(five.url, `${base}/plain/page.png`);
  await five.file.discard();
  const err = await refused(fetchToFile(`${base}/chain?n=6`, onlyTestServer()), 'FOLIO_FETCH_FAILED');
  assert.equal(err.details?.reason, 'redirects');
});

test('the upload size limit holds for fetched documents, declared or not', async () => {
  await refused(fetchToFile(`${base}/huge-declared`, onlyTestServer()), 'FOLIO_UPLOAD_TOO_LARGE');
  await refused(fetchToFile(`${base}/huge-chunked`, onlyTestServer()), 'FOLIO_UPLOAD_TOO_LARGE');
  assert.deepEqual(readdirSync(tmpDir), [], 'nothing left behind');
});

test('a fetch past its deadline is abandoned (FOLIO_FETCH_TIMEOUT); an error status is FOLIO_FETCH_FAILED with the status', async () => {
  const t0 = Date.now();
  await refused(fetchToFile(`${base}/slow`, { ...onlyTestServer(), timeoutMs: 500 }), 'FOLIO_FETCH_TIMEOUT');
  assert.ok(Date.now() - t0 < 15_000, 'ended near its deadline, not when the server gave up');
  const err = await refused(fetchToFile(`${base}/missing`, onlyTestServer()), 'FOLIO_FETCH_FAILED');
  assert.equal(err.details?.httpStatus, 404);
  await refused(fetchToFile('http://127.0.0.1:1/doc.png', onlyTestServer()), 'FOLIO_FETCH_FAILED');
  assert.deepEqual(readdirSync(tmpDir), []);
});

test('FOLIO_FETCH_ALLOW_CIDRS must be addresses or CIDRs', () => {
  assert.deepEqual(loadConfig({ FOLIO_FETCH_ALLOW_CIDRS: '10.20.0.0/16, 127.0.0.1,fd00::/8' }).ingest.fetch.allowCidrs, [
    '10.20.0.0/16',
    '127.0.0.1',
    'fd00::/8',
  ]);
  assert.throws(() => loadConfig({ FOLIO_FETCH_ALLOW_CIDRS: '10.20.0.0/33' }), ConfigError);
  assert.throws(() => loadConfig({ FOLIO_FETCH_ALLOW_CIDRS: 'intranet.local' }), ConfigError);
});
