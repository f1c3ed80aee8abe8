import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import sharp from 'sharp';
import { makePdf } from './helpers/make-pdf.ts';
import { startTestStack, upload, type TestStack } from './helpers/stack.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
let stack: TestStack;
const MAX_UPLOAD = 2 * 1024 * 1024;

before(async () => {
  stack = await startTestStack({ env: { FOLIO_MAX_UPLOAD_BYTES: String(MAX_UPLOAD), FOLIO_MAX_PAGES: '20', FOLIO_MAX_INPUT_PIXELS: '50000000' } });
});
after(async () => {
  await stack?.close();
});

async function expectError(res: Response, status: number, code: string) {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  return body;
}

test('an empty file is a 400 FOLIO_FILE_EMPTY', async () => {
  await expectError(await upload(stack.url, '/v1/jobs', Buffer.alloc(0)), 400, 'FOLIO_FILE_EMPTY');
});

test('an unknown type is a 415 FOLIO_UNSUPPORTED_MEDIA_TYPE, whatever the declared type', async () => {
  await expectError(
    await upload(stack.url, '/v1/jobs', Buffer.from('just some text, not a document'), { type: 'application/pdf', filename: 'fake.pdf' }),
    415,
    'FOLIO_UNSUPPORTED_MEDIA_TYPE',
  );
});

test('an upload over the size limit is a 413 FOLIO_UPLOAD_TOO_LARGE', async () => {
  const big = Buffer.concat([fixture('english.png'), Buffer.alloc(MAX_UPLOAD)]);
  await expectError(await upload(stack.url, '/v1/jobs', big), 413, 'FOLIO_UPLOAD_TOO_LARGE');
});

test('a raw-body upload over the size limit is a 413 too', async () => {
  const res = await fetch(`${stack.url}/v1/jobs`, {
    method: 'POST',
    body: new Uint8Array(MAX_UPLOAD + 10).fill(1),
    headers: { 'content-type': 'application/octet-stream' },
  });
  await expectError(res, 413, 'FOLIO_UPLOAD_TOO_LARGE');
});

test('a corrupt PDF is a 422 FOLIO_PDF_CORRUPT', async () => {
  const pdf = makePdf(['a', 'b']);
  const corrupt = Buffer.concat([pdf.subarray(0, 40), Buffer.from('garbage'.repeat(20))]);
  await expectError(await upload(stack.url, '/v1/jobs', corrupt, { filename: 'broken.pdf' }), 422, 'FOLIO_PDF_CORRUPT');
});

test('an encrypted PDF is a 422 FOLIO_PDF_ENCRYPTED', async () => {
  await expectError(await upload(stack.url, '/v1/jobs', fixture('encrypted.pdf'), { filename: 'secret.pdf' }), 422, 'FOLIO_PDF_ENCRYPTED');
});

test('a PDF with more pages than allowed is a 422 FOLIO_TOO_MANY_PAGES', async () => {
  const body = await expectError(await upload(stack.url, '/v1/jobs', makePdf(Array.from({ length: 21 }, (_, i) => `p${i}`))), 422, 'FOLIO_TOO_MANY_PAGES');
  assert.equal(body.error.details.pageCount, 21);
});

test('an image with too many pixels is a 422 FOLIO_IMAGE_TOO_LARGE', async () => {
  const bomb = await sharp({ create: { width: 10_000, height: 6_000, channels: 3, background: 'white' } })
    .png({ compressionLevel: 9 })
    .toBuffer();
  await expectError(await upload(stack.url, '/v1/jobs', bomb, { filename: 'bomb.png' }), 422, 'FOLIO_IMAGE_TOO_LARGE');
});

test('a truncated image is a 422 FOLIO_IMAGE_CORRUPT', async () => {
  const png = fixture('english.png');
  await expectError(await upload(stack.url, '/v1/jobs', png.subarray(0, 200), { filename: 'cut.png' }), 422, 'FOLIO_IMAGE_CORRUPT');
});

test('bad options are a 400 FOLIO_INVALID_OPTIONS naming the field', async () => {
  const body = await expectError(await upload(stack.url, '/v1/jobs', fixture('english.png'), { fields: { dpi: 'lots' } }), 400, 'FOLIO_INVALID_OPTIONS');
  assert.match(body.error.message, /dpi/);
  await expectError(await upload(stack.url, '/v1/jobs', fixture('english.png'), { fields: { pages: '3-1' } }), 400, 'FOLIO_INVALID_OPTIONS');
  await expectError(await upload(stack.url, '/v1/jobs', fixture('english.png'), { fields: { colour: 'blue' } }), 400, 'FOLIO_INVALID_OPTIONS');
});

test('a page range outside the document is a 422 FOLIO_PAGE_RANGE_EMPTY', async () => {
  await expectError(await upload(stack.url, '/v1/jobs', makePdf(['a', 'b']), { fields: { pages: '5-9' } }), 422, 'FOLIO_PAGE_RANGE_EMPTY');
});

test('a multipart body without a file is a 400 FOLIO_FILE_MISSING', async () => {
  const form = new FormData();
  form.append('dpi', '144');
  await expectError(await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: form }), 400, 'FOLIO_FILE_MISSING');
});

test('a malformed multipart body is a 400 FOLIO_MULTIPART_MALFORMED', async () => {
  const body = '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG half a file';
  const res = await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body, headers: { 'content-type': 'multipart/form-data; boundary=XYZ' } });
  await expectError(res, 400, 'FOLIO_MULTIPART_MALFORMED');
});

test('an unknown job id is a 404 FOLIO_JOB_NOT_FOUND on every job route', async () => {
  for (const path of ['/v1/jobs/nope', '/v1/jobs/nope/result', '/v1/jobs/3b8f9a8e-0000-4000-8000-000000000000', '/v1/jobs/..%2F..%2Fetc']) {
    await expectError(await fetch(`${stack.url}${path}`), 404, 'FOLIO_JOB_NOT_FOUND');
  }
  await expectError(await fetch(`${stack.url}/v1/jobs/nope`, { method: 'DELETE' }), 404, 'FOLIO_JOB_NOT_FOUND');
});

test('an unknown route is a 404 JSON error', async () => {
  await expectError(await fetch(`${stack.url}/v2/whatever`), 404, 'FOLIO_ROUTE_NOT_FOUND');
});

test('a JSON body without a URL is a 415 telling how to send a document; a JSON url that is not one is a 400', async () => {
  const res = await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: '{"file":"x"}', headers: { 'content-type': 'application/json' } });
  await expectError(res, 415, 'FOLIO_UNSUPPORTED_MEDIA_TYPE');
  // Issue 10: a JSON body names documents to fetch ({"url": …}); test/inputs-*.test.ts cover the rest.
  const bad = await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: '{"url":"x"}', headers: { 'content-type': 'application/json' } });
  await expectError(bad, 400, 'FOLIO_URL_INVALID');
});

test('a refused upload leaves no job behind and the service keeps accepting work', async () => {
  await upload(stack.url, '/v1/jobs', Buffer.alloc(0));
  const res = await upload(stack.url, '/v1/jobs', fixture('english.png'));
  assert.equal(res.status, 202);
});

test('a client that disconnects mid-upload does not break the server', async () => {
  const { port } = new URL(stack.url);
  await new Promise<void>((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1', () => {
      s.write('POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\nContent-Length: 100000\r\n\r\n%PDF-1.4 partial');
      setTimeout(() => s.destroy(), 100);
    });
    s.on('close', () => resolve());
  });
  assert.equal((await fetch(`${stack.url}/healthz`)).status, 200);
});
