/**
 * Several documents in one request (issue 10): POST /v1/jobs with several `file` parts and/or
 * `url` fields (or a JSON body with `urls`) makes a job each, grouped under one batch id (in the
 * answer and in each job's status). Each document is checked as a single upload is and accepted
 * or refused on its own: 202 when all were accepted, 207 listing the refused ones, the first
 * error (with every document's) when none was. Request-wide problems (options, too many
 * documents, a file over the size limit) refuse the whole request and submit nothing.
 * Documents by URL are fetched through the same checks (fetch-url.ts; its own test covers SSRF).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { makePdf } from './helpers/make-pdf.ts';
import { FolioApiError, FolioClient } from '../client/index.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

const png = readFileSync(new URL('./fixtures/english.png', import.meta.url));
const MAX_FILES = 4;
const KEY = 'inputs-batch-key-AAAAAAAAAAAAAAAA';
const TIGHT_KEY = 'inputs-batch-tight-BBBBBBBBBBBBBB';
const auth = { authorization: `Bearer ${KEY}` };
/** Pages per day per tenant: ample for the main tenant, used up by the quota test's tenant. */
const DAILY_PAGES = 40;
const MAX_UPLOAD = 2 * 1024 * 1024;
let stack: TestStack;
let pdf: Buffer;
let docs: http.Server;
let docsUrl: string;

before(async () => {
  pdf = Buffer.from(makePdf(['Page one of a batch', 'Page two of a batch']));
  docs = http.createServer((req, res) => {
    if (req.url!.startsWith('/scan.png')) return res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    if (req.url === '/page.html') return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not a document</html>');
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => docs.listen(0, '127.0.0.1', r));
  docsUrl = `http://127.0.0.1:${(docs.address() as AddressInfo).port}`;
  stack = await startTestStack({
    env: {
      FOLIO_MAX_FILES_PER_REQUEST: String(MAX_FILES),
      FOLIO_MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
      // The test's document server, and it alone, is reachable (as an intranet host would be).
      FOLIO_FETCH_ALLOW_CIDRS: '127.0.0.1/32',
      FOLIO_FETCH_TIMEOUT_MS: '10000',
      FOLIO_API_KEYS: `main=${KEY},tight=${TIGHT_KEY}`,
      FOLIO_QUOTA_PAGES_PER_DAY: String(DAILY_PAGES),
      FOLIO_MAX_PAGES: '50',
    },
  });
});
after(async () => {
  await stack?.close();
  docs?.closeAllConnections();
  await new Promise((r) => docs?.close(r));
});

function form(files: Array<[string, Buffer]>, fields: Array<[string, string]> = []) {
  const f = new FormData();
  for (const [k, v] of fields) f.append(k, v);
  for (const [name, bytes] of files) f.append('file', new Blob([new Uint8Array(bytes)]), name);
  return f;
}
const post = (body: FormData | string, headers: Record<string, string> = {}, route = '/v1/jobs') =>
  fetch(`${stack.url}${route}`, { method: 'POST', body, headers: { ...auth, ...headers } });
const settle = (id: string) => waitForTerminal(stack.url, id, 60_000, auth);
async function submittedCount(): Promise<number> {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('folio_jobs_submitted_total'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}
/** The answer validates against what /docs/json documents for POST /v1/jobs at its status. */
async function documented(res: Response, body: unknown) {
  const doc = await (await fetch(`${stack.url}/docs/json`)).json();
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  ajv.addSchema(doc, 'openapi');
  const validate = ajv.compile({ $ref: `openapi#/paths/~1v1~1jobs/post/responses/${res.status}/content/application~1json/schema` });
  assert.ok(validate(body), `${res.status}: ${ajv.errorsText(validate.errors)}`);
}
const leftovers = () => readdirSync(stack.env.FOLIO_TMP_DIR).filter((n) => n.startsWith('folio-upload-'));

test('several files make a batch: a job each under one batch id, in the answer and in every job’s status; 202 when all were accepted', async () => {
  const res = await post(
    form(
      [
        ['scan.png', png],
        ['report.pdf', pdf],
      ],
      [['cache', 'bypass']],
    ),
  );
  const body = await res.json();
  assert.equal(res.status, 202, JSON.stringify(body));
  assert.match(body.batch, /^[0-9a-f-]{36}$/);
  await documented(res, body);
  assert.deepEqual(body.errors, []);
  assert.deepEqual(
    body.jobs.map((j: any) => [j.index, j.name, j.batch, j.pages.total]),
    [
      [0, 'scan.png', body.batch, 1],
      [1, 'report.pdf', body.batch, 2],
    ],
  );
  for (const j of body.jobs) {
    const end = await settle(j.id);
    assert.equal(end.status, 'completed');
    assert.equal(end.batch, body.batch);
    assert.equal(end.options.cache, 'bypass', 'the options apply to every document');
  }
  assert.deepEqual(leftovers(), []);
});

test('a bad file answers for itself (207): the others are accepted, each refusal has the code a single upload would get', async () => {
  const res = await post(
    form(
      [
        ['notes.txt', Buffer.from('plain text, not a document')],
        ['scan.png', png],
        ['empty.pdf', Buffer.alloc(0)],
        ['broken.pdf', Buffer.from('%PDF-1.4\nnot really')],
      ],
      [['cache', 'bypass']],
    ),
  );
  const body = await res.json();
  assert.equal(res.status, 207, JSON.stringify(body));
  await documented(res, body);
  assert.deepEqual(
    body.jobs.map((j: any) => [j.index, j.name]),
    [[1, 'scan.png']],
  );
  assert.deepEqual(
    body.errors.map((e: any) => [e.index, e.name, e.error.code]),
    [
      [0, 'notes.txt', 'FOLIO_UNSUPPORTED_MEDIA_TYPE'],
      [2, 'empty.pdf', 'FOLIO_FILE_EMPTY'],
      [3, 'broken.pdf', 'FOLIO_PDF_CORRUPT'],
    ],
  );
  assert.equal((await settle(body.jobs[0].id)).status, 'completed');
});

test('when no document is accepted the answer is the first error, with every document’s in details.errors', async () => {
  const res = await post(
    form([
      ['a.txt', Buffer.from('text')],
      ['b.txt', Buffer.from('more text')],
    ]),
  );
  const body = await res.json();
  assert.equal(res.status, 415, JSON.stringify(body));
  await documented(res, body);
  assert.equal(body.error.code, 'FOLIO_UNSUPPORTED_MEDIA_TYPE');
  assert.deepEqual(
    body.error.details.errors.map((e: any) => [e.index, e.error.code]),
    [
      [0, 'FOLIO_UNSUPPORTED_MEDIA_TYPE'],
      [1, 'FOLIO_UNSUPPORTED_MEDIA_TYPE'],
    ],
  );
});

test('request-wide refusals submit nothing: too many documents (400 FOLIO_TOO_MANY_FILES), invalid options, a file over the size limit', async () => {
  const before = await submittedCount();
  const many = await post(form(Array.from({ length: MAX_FILES + 1 }, (_, i) => [`p${i}.png`, png] as [string, Buffer])));
  const manyBody = await many.json();
  assert.equal(many.status, 400, JSON.stringify(manyBody));
  assert.equal(manyBody.error.code, 'FOLIO_TOO_MANY_FILES');
  assert.equal(manyBody.error.details.maxFiles, MAX_FILES);

  const badOption = await post(
    form(
      [
        ['a.png', png],
        ['b.png', png],
      ],
      [['dpi', '5000']],
    ),
  );
  assert.equal(badOption.status, 400);
  assert.equal((await badOption.json()).error.code, 'FOLIO_INVALID_OPTIONS');

  const big = await post(
    form([
      ['a.png', png],
      ['huge.bin', Buffer.alloc(MAX_UPLOAD + 1, 1)],
    ]),
  );
  assert.equal(big.status, 413);
  assert.equal((await big.json()).error.code, 'FOLIO_UPLOAD_TOO_LARGE');
  assert.deepEqual(leftovers(), [], 'every spooled file was removed');
  assert.equal(await submittedCount(), before, 'no job was submitted');

  const sync = await post(
    form([
      ['a.png', png],
      ['b.png', png],
    ]),
    {},
    '/v1/ocr',
  );
  assert.equal(sync.status, 400);
  assert.equal((await sync.json()).error.code, 'FOLIO_TOO_MANY_FILES', 'the sync route takes one document');
});

test('a document by URL: a JSON body {url} or a multipart url field; the status records where it came from, without the query string', async () => {
  const res = await post(JSON.stringify({ url: `${docsUrl}/scan.png?X-Amz-Signature=secret`, cache: 'bypass', dpi: 150 }), {
    'content-type': 'application/json',
  });
  const body = await res.json();
  assert.equal(res.status, 202, JSON.stringify(body));
  const end = await settle(body.id);
  assert.equal(end.status, 'completed');
  assert.equal(end.source.name, 'scan.png');
  assert.equal(end.source.url, `${docsUrl}/scan.png`);
  assert.equal(end.options.dpi, 150);

  const mixed = await post(
    form(
      [['report.pdf', pdf]],
      [
        ['url', `${docsUrl}/scan.png`],
        ['cache', 'bypass'],
      ],
    ),
  );
  const mixedBody = await mixed.json();
  assert.equal(mixed.status, 202, JSON.stringify(mixedBody));
  assert.deepEqual(mixedBody.jobs.map((j: any) => j.name).sort(), [`${docsUrl}/scan.png`, 'report.pdf'].sort());
});

test('URL refusals answer with stable codes: a private target 403, a non-document 415, a failed fetch 502; in a batch each on its own', async () => {
  const json = (b: unknown) => post(JSON.stringify(b), { 'content-type': 'application/json' });
  const cases: Array<[string, number, string]> = [
    ['http://169.254.169.254/latest/meta-data/', 403, 'FOLIO_URL_FORBIDDEN'],
    ['http://10.0.0.1/doc.pdf', 403, 'FOLIO_URL_FORBIDDEN'],
    [`http://[::1]:${new URL(docsUrl).port}/scan.png`, 403, 'FOLIO_URL_FORBIDDEN'],
    ['file:///etc/passwd', 400, 'FOLIO_URL_INVALID'],
    [`${docsUrl}/page.html`, 415, 'FOLIO_UNSUPPORTED_MEDIA_TYPE'],
    [`${docsUrl}/missing.pdf`, 502, 'FOLIO_FETCH_FAILED'],
  ];
  for (const [url, status, code] of cases) {
    const res = await json({ url });
    const body = await res.json();
    assert.equal(res.status, status, `${url}: ${JSON.stringify(body)}`);
    await documented(res, body);
    assert.equal(body.error.code, code, url);
  }
  const batch = await json({ urls: [`${docsUrl}/scan.png`, 'http://127.0.0.2/x', 'http://[::ffff:169.254.169.254]/'], cache: 'bypass' });
  const body = await batch.json();
  assert.equal(batch.status, 207, JSON.stringify(body));
  assert.deepEqual(
    body.jobs.map((j: any) => j.index),
    [0],
  );
  assert.deepEqual(
    body.errors.map((e: any) => [e.index, e.error.code]),
    [
      [1, 'FOLIO_URL_FORBIDDEN'],
      [2, 'FOLIO_URL_FORBIDDEN'],
    ],
  );

  const noDoc = await json({ dpi: 150 });
  assert.equal(noDoc.status, 415);
  assert.match((await noDoc.json()).error.message, /"url"/, 'a JSON body without a URL is told how to send a document');
  const tooMany = await json({ urls: Array.from({ length: MAX_FILES + 1 }, () => `${docsUrl}/scan.png`) });
  assert.equal((await tooMany.json()).error.code, 'FOLIO_TOO_MANY_FILES');
  assert.deepEqual(leftovers(), []);
});

test('a single upload answers as before (no batch): JobAccepted with a Location header', async () => {
  const res = await upload(stack.url, '/v1/jobs', png, { filename: 'one.png', fields: { cache: 'bypass' }, headers: auth });
  const body = await res.json();
  assert.equal(res.status, 202);
  assert.equal(res.headers.get('location'), `/v1/jobs/${body.id}`);
  assert.equal(body.batch, undefined);
});

test('each document is checked as a single upload is (pages, quota reserved per job): the ones over a limit are refused, the others run', async () => {
  const tight = { authorization: `Bearer ${TIGHT_KEY}` };
  const long = Buffer.from(makePdf(Array.from({ length: DAILY_PAGES - 1 }, (_, i) => `Page ${i + 1}`)));
  const tooLong = Buffer.from(makePdf(Array.from({ length: 51 }, (_, i) => `Page ${i + 1}`)));
  // 39 pages, then 1 (the day's 40th), then 1 more: over the tenant's daily quota.
  const res = await post(
    form(
      [
        ['long.pdf', long],
        ['too-long.pdf', tooLong],
        ['a.png', png],
        ['b.png', png],
      ],
      [['cache', 'bypass']],
    ),
    tight,
  );
  const body = await res.json();
  assert.equal(res.status, 207, JSON.stringify(body));
  assert.deepEqual(
    body.jobs.map((j: any) => [j.index, j.pages.total]),
    [
      [0, DAILY_PAGES - 1],
      [2, 1],
    ],
  );
  assert.deepEqual(
    body.errors.map((e: any) => [e.index, e.error.code]),
    [
      [1, 'FOLIO_TOO_MANY_PAGES'],
      [3, 'FOLIO_QUOTA_EXCEEDED'],
    ],
  );
  assert.equal(body.errors[1].error.details.quota, 'pages_per_day');
  for (const j of body.jobs) await fetch(`${stack.url}/v1/jobs/${j.id}`, { method: 'DELETE', headers: tight });
});

test('the client library submits batches and URLs', async () => {
  const client = new FolioClient({ baseUrl: stack.url, apiKey: KEY });
  const batch = await client.submitBatch(
    [{ file: new Blob([new Uint8Array(png)]), name: 'a.png' }, { url: `${docsUrl}/scan.png` }, { file: new Blob(['text']), name: 'b.txt' }],
    { cache: 'bypass' },
  );
  assert.deepEqual(
    batch.jobs.map((j) => j.index),
    [0, 1],
  );
  assert.deepEqual(
    batch.errors.map((e) => [e.index, e.error.code]),
    [[2, 'FOLIO_UNSUPPORTED_MEDIA_TYPE']],
  );
  const one = await client.submitUrl(`${docsUrl}/scan.png`, { cache: 'bypass' });
  assert.equal((await client.watch(one.id)).status, 'completed');
  await assert.rejects(client.submitUrl('http://169.254.169.254/'), (e: FolioApiError) => e.status === 403 && e.code === 'FOLIO_URL_FORBIDDEN');
});
