/**
 * Contract = code: walks every operation of the served OpenAPI document against running stacks and
 * provokes each response it can (successes and refusals: no key, another tenant, unknown job, bad
 * option, wrong type, too large, over a rate or a cap, not ready, unconfigured). Every answer must
 * have a documented status, content type, headers and a body valid against its schema (ajv strict,
 * formats on: test/helpers/openapi-check.ts). The walk fails when a documented response is neither
 * provoked nor listed in UNPROVOKED with its reason, and when the app serves a route the document
 * lacks (or documents one it does not serve).
 *
 * Two stacks: A runs the whole pipeline (the vLLM simulator answers, tables included); B is an
 * ingest alone on its own NATS, so its jobs stay queued (409s, a stream held open, a cancel), with
 * a rate limit one tenant spends (429 on every limited route) and no webhook secret (503).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';
import { makePdf } from './helpers/make-pdf.ts';
import { openApiChecker } from './helpers/openapi-check.ts';
import { buildApp } from '../services/ingest/app.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const png = fixture('english.png');
const ACME = randomBytes(24).toString('hex');
const GLOBEX = randomBytes(24).toString('hex');
const SPENT = randomBytes(24).toString('hex');
const acme = { authorization: `Bearer ${ACME}` };
const globex = { authorization: `Bearer ${GLOBEX}` };
const spent = { authorization: `Bearer ${SPENT}` };
const RATE_LIMIT = 40;

/** Documented responses no test here provokes, and why. Everything else documented must be seen. */
const UNPROVOKED: Record<string, string> = {
  '*/500': 'an internal error: no input provokes one',
  '*/503':
    'a dependency down (NATS, object store): stopping NATS under every route is the chaos tests’ work; /readyz and the webhook secret’s 503 are provoked',
  'submitJob/504': 'a URL fetch past its deadline (inputs-fetch.test.ts)',
  'ocrSync/504': 'a URL fetch past its deadline (inputs-fetch.test.ts)',
  'compatOcr/504': 'a URL fetch past its deadline (inputs-fetch.test.ts)',
};

let a: TestStack;
let b: TestStack;
let site: http.Server;
let siteUrl: string;
let doc: any;
let checker: ReturnType<typeof openApiChecker>;

before(async () => {
  // A local site for URL submissions: a document, and a server error.
  site = http.createServer((req, res) => {
    if (req.url === '/doc.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    res.writeHead(500).end('broken');
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  [a, b] = await Promise.all([
    startTestStack({
      env: {
        FOLIO_API_KEYS: `acme=${ACME},globex=${GLOBEX}`,
        FOLIO_WEBHOOK_SECRET: 'contract-test-master-secret',
        FOLIO_MAX_UPLOAD_BYTES: '1000000',
        FOLIO_MAX_FILES_PER_REQUEST: '2',
        FOLIO_MAX_PAGES: '3',
        FOLIO_FETCH_ALLOW_CIDRS: '127.0.0.1/32',
      },
    }),
    startTestStack({
      services: ['ingest'],
      env: {
        FOLIO_API_KEYS: `acme=${ACME},spent=${SPENT}`,
        FOLIO_RATE_LIMIT_MAX: String(RATE_LIMIT),
        FOLIO_RATE_LIMIT_WINDOW_S: '120',
        FOLIO_MAX_STREAMS_PER_TENANT: '1',
        FOLIO_SYNC_TIMEOUT_MS: '300',
        FOLIO_HTTP_BODY_IDLE_TIMEOUT_MS: '300',
      },
    }),
  ]);
  doc = await (await fetch(`${a.url}/docs/json`, { headers: acme })).json();
  checker = openApiChecker(doc);
});
after(async () => {
  await Promise.all([a?.close(), b?.close()]);
  site?.close();
});

/** The operation's path in the document for a concrete URL path of it. */
const P = {
  jobs: '/v1/jobs',
  ocr: '/v1/ocr',
  job: '/v1/jobs/{id}',
  result: '/v1/jobs/{id}/result',
  figure: '/v1/jobs/{id}/images/{name}',
  page: '/v1/jobs/{id}/pages/{page}/image',
  events: '/v1/jobs/{id}/events',
  tables: '/v1/jobs/{id}/tables',
  table: '/v1/jobs/{id}/tables/{n}',
  schema: '/v1/schemas/document-v1.json',
  secret: '/v1/webhook-secret',
  compat: '/ocr',
  compatResult: '/result/{task_id}',
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
} as const;

const get = (base: string, url: string, headers: Record<string, string> = acme) => fetch(`${base}${url}`, { headers });
const json = (base: string, url: string, body: unknown, headers: Record<string, string> = acme) =>
  fetch(`${base}${url}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
/** Several files in one multipart body. */
function uploadMany(base: string, url: string, files: Array<[string, Buffer]>, headers: Record<string, string> = acme) {
  const form = new FormData();
  for (const [name, data] of files) form.append('file', new Blob([new Uint8Array(data)]), name);
  return fetch(`${base}${url}`, { method: 'POST', body: form, headers });
}

test('the app serves exactly the documented routes, and the document carries no fallback operation', async () => {
  const app = await buildApp({ ...a.rt, log: a.rt.log });
  await app.ready();
  const printed = app.printRoutes({ commonPrefix: false });
  await app.close();
  const served = routesOf(printed);
  // The upload/viewer page (`/`) with the client's SSE module it loads, and the document itself with its UI (`/docs…`), are not API operations.
  const api = served.filter(([, url]) => url !== '/' && url !== '/client/sse.js' && url !== '/docs' && !url.startsWith('/docs/'));
  const documented = Object.entries<any>(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => [m.toUpperCase(), p.replace(/\{(\w+)\}/g, ':$1')]));
  const key = ([m, u]: string[]) => `${m} ${u}`;
  assert.deepEqual(api.map(key).sort(), documented.map(key).sort(), 'served routes (GET/POST/DELETE; HEAD follows GET) = documented operations');
  assert.ok(
    served.some(([, u]) => u === '/docs/json'),
    'the route table was read (the document route is in it)',
  );
  for (const [p, item] of Object.entries<any>(doc.paths))
    for (const [m, op] of Object.entries<any>(item)) assert.ok(!op['x-folio-undocumented'], `${m} ${p} has no table entry in openapi.ts`);
});

/** [method, url] of every route in Fastify's printRoutes({commonPrefix: false}) tree, HEAD left out (Fastify adds it to every GET). */
function routesOf(printed: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const stack: string[] = [];
  for (const line of printed.split('\n')) {
    const m = line.match(/^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/);
    if (!m) continue;
    const depth = m[1].length / 4;
    stack.length = depth;
    stack.push(m[2]);
    const url = stack.join('').replace(/\/+/g, '/');
    for (const method of (m[3] ?? '').split(', ').filter((x) => x && x !== 'HEAD')) out.push([method, url]);
  }
  return out;
}

/** A raw-body upload that announces 100 kB, sends 10 bytes and stalls: the answer, as a fetch Response. */
function stalledUpload(url: string, headers: Record<string, string>): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': '100000' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          req.destroy();
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve(new Response(res.statusCode === 204 ? null : Buffer.concat(chunks), { status: res.statusCode, headers: h }));
        });
      },
    );
    req.on('error', reject);
    req.write(png.subarray(0, 10));
  });
}

/** Sends every keyed operation of the document (a job id filled in) with these headers; each must answer `status`. */
async function sweep(base: string, jobId: string, headers: Record<string, string>, status: number, more?: (res: Response, what: string) => void) {
  for (const [p, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (op.security?.length === 0) continue; // open routes: no key, no rate limit
      const url = p.replace('{id}', jobId).replace('{task_id}', jobId).replace('{name}', '1_0.jpg').replace('{page}', '1').replace('{n}', '1');
      const res = method === 'post' ? await upload(base, url, png, { headers }) : await fetch(`${base}${url}`, { method: method.toUpperCase(), headers });
      assert.equal(res.status, status, `${method} ${p}`);
      more?.(res, `${method} ${p}`);
      await checker.check(res, p, method);
    }
  }
}

test('every operation, walked: each answer has a documented status, content type, headers and body shape', async () => {
  const c = checker;
  const A = a.url;
  const B = b.url;

  // ---- Stack A: the pipeline runs ----
  // POST /v1/jobs: one file (202), a batch (202), a partly refused batch (207), the raw body, a URL.
  const accepted = await upload(A, P.jobs, png, { filename: 'english.png', headers: acme, fields: { engine: 'vllm' } });
  await c.check(accepted.clone(), P.jobs, 'post');
  assert.equal(accepted.status, 202);
  const id: string = (await accepted.json()).id;
  assert.equal(
    (
      await c.check(
        await uploadMany(A, P.jobs, [
          ['a.png', png],
          ['b.png', png],
        ]),
        P.jobs,
        'post',
      )
    ).length > 0,
    true,
  );
  const partial = await uploadMany(A, P.jobs, [
    ['a.png', png],
    ['notes.txt', Buffer.from('plain text, not a document')],
  ]);
  assert.equal(partial.status, 207);
  await c.check(partial, P.jobs, 'post');
  const raw = await fetch(`${A}${P.jobs}?filename=raw.png&cache=bypass`, {
    method: 'POST',
    headers: { ...acme, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(png),
  });
  assert.equal(raw.status, 202);
  await c.check(raw, P.jobs, 'post');
  const byUrl = await json(A, P.jobs, { url: `${siteUrl}/doc.png` });
  assert.equal(byUrl.status, 202, await byUrl.clone().text());
  await c.check(byUrl, P.jobs, 'post');
  // Refusals of an upload: each status its route documents.
  const refusals: Array<[number, () => Promise<Response>]> = [
    [401, () => upload(A, P.jobs, png)],
    [401, () => upload(A, P.jobs, png, { headers: { authorization: 'Bearer wrong-key-AAAAAAAAAAAAAAAA' } })],
    [400, () => upload(A, P.jobs, png, { headers: acme, fields: { dpi: '5000' } })],
    [400, () => upload(A, P.jobs, Buffer.alloc(0), { headers: acme })],
    [
      400,
      () =>
        uploadMany(A, P.jobs, [
          ['1.png', png],
          ['2.png', png],
          ['3.png', png],
        ]),
    ],
    [400, () => json(A, P.jobs, { url: 'ftp://example.com/doc.pdf' })],
    [403, () => json(A, P.jobs, { url: 'http://10.1.2.3/doc.pdf' })],
    [403, () => upload(A, P.jobs, png, { headers: { ...acme, origin: 'https://evil.example' } })],
    [413, () => upload(A, P.jobs, randomBytes(1_100_000), { headers: acme })],
    [415, () => upload(A, P.jobs, Buffer.from('plain text, not a document'), { headers: acme })],
    [415, () => json(A, P.jobs, { engine: 'cpu' })],
    [422, () => upload(A, P.jobs, fixture('encrypted.pdf'), { headers: acme })],
    [422, () => upload(A, P.jobs, fixture('truncated.pdf'), { headers: acme })],
    [422, () => upload(A, P.jobs, makePdf(['1', '2', '3', '4']), { headers: acme })],
    [422, () => upload(A, P.jobs, png, { headers: acme, fields: { pages: '5' } })],
    [502, () => json(A, P.jobs, { url: `${siteUrl}/broken` })],
  ];
  for (const [status, send] of refusals) {
    const res = await send();
    assert.equal(res.status, status, `POST /v1/jobs: expected ${status}, got ${res.status} ${await res.clone().text()}`);
    await c.check(res, P.jobs, 'post');
  }

  const end = await waitForTerminal(A, id, 60_000, acme);
  assert.equal(end.status, 'completed');
  for (const [status, res] of [
    [200, await get(A, `/v1/jobs/${id}`)],
    [401, await get(A, `/v1/jobs/${id}`, {})],
    [404, await get(A, `/v1/jobs/${id}`, globex)],
    [404, await get(A, '/v1/jobs/no-such-job')],
  ] as const) {
    assert.equal(res.status, status);
    await c.check(res, P.job);
  }

  // The result in every format, and its refusals.
  const formats: Record<string, string> = {
    markdown: 'text/markdown',
    json: 'application/json',
    html: 'text/html',
    chunks: 'application/json',
    pdf: 'application/pdf',
    hocr: 'application/xhtml+xml',
    alto: 'application/xml',
  };
  for (const [format, type] of Object.entries(formats)) {
    const res = await get(A, `/v1/jobs/${id}/result?format=${format}`);
    assert.equal(res.status, 200, format);
    assert.equal(res.headers.get('content-type')!.split(';')[0], type, format);
    await c.check(res, P.result);
  }
  const markdown = (await c.check(await get(A, `/v1/jobs/${id}/result`), P.result)).toString('utf8');
  for (const [status, url] of [
    [400, `/v1/jobs/${id}/result?format=docx`],
    [400, `/v1/jobs/${id}/result?format=chunks&maxTokens=1`],
    [404, '/v1/jobs/no-such-job/result'],
  ] as const) {
    const res = await get(A, url);
    assert.equal(res.status, status, url);
    await c.check(res, P.result);
  }
  await c.check(await get(A, `/v1/jobs/${id}/result`, {}), P.result);

  // Figures and page images.
  const figure = markdown.match(/images\/(\d+_\d+\.jpg)/)?.[1];
  assert.ok(figure, 'the simulated page has a figure linked from its Markdown');
  for (const [status, url] of [
    [200, `/v1/jobs/${id}/images/${figure}`],
    [404, `/v1/jobs/${id}/images/9_9.jpg`],
    [404, `/v1/jobs/${id}/images/..%2fsecret`],
  ] as const) {
    const res = await get(A, url);
    assert.equal(res.status, status, url);
    await c.check(res, P.figure);
  }
  for (const [status, url] of [
    [200, `/v1/jobs/${id}/pages/1/image`],
    [404, `/v1/jobs/${id}/pages/9/image`],
    [400, `/v1/jobs/${id}/pages/x/image`],
  ] as const) {
    const res = await get(A, url);
    assert.equal(res.status, status, url);
    await c.check(res, P.page);
  }
  await c.check(await get(A, `/v1/jobs/${id}/pages/1/image`, globex), P.page);

  // Events of an ended job: one status event, then the end.
  const sse = await get(A, `/v1/jobs/${id}/events`);
  assert.equal(sse.status, 200);
  await c.check(sse, P.events);
  await c.check(await get(A, '/v1/jobs/no-such-job/events'), P.events);

  // Tables: the list, each format, and the refusals.
  const list = await get(A, `/v1/jobs/${id}/tables`);
  const tables = JSON.parse((await c.check(list, P.tables)).toString('utf8')).tables;
  assert.ok(tables.length > 0, 'the simulated page has a table');
  for (const format of ['csv', 'json', 'parquet']) {
    const res = await get(A, `/v1/jobs/${id}/tables/1?format=${format}`);
    assert.equal(res.status, 200, format);
    await c.check(res, P.table);
  }
  await c.check(await get(A, `/v1/jobs/${id}/tables/1`), P.table);
  for (const [status, url] of [
    [404, `/v1/jobs/${id}/tables/99`],
    [400, `/v1/jobs/${id}/tables/1?format=xlsx`],
    [404, '/v1/jobs/no-such-job/tables/1'],
  ] as const) {
    const res = await get(A, url);
    assert.equal(res.status, status, url);
    await c.check(res, P.table);
  }
  await c.check(await get(A, '/v1/jobs/no-such-job/tables'), P.tables);
  await c.check(await get(A, `/v1/jobs/${id}/tables`, {}), P.tables);

  // The layout schema, the webhook secret, probes and metrics.
  const schema = JSON.parse((await c.check(await get(A, P.schema), P.schema)).toString('utf8'));
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  await c.check(await get(A, P.schema, {}), P.schema);
  await c.check(await get(A, P.secret), P.secret);
  await c.check(await get(A, P.secret, {}), P.secret);
  for (const p of [P.healthz, P.readyz, P.metrics]) await c.check(await get(A, p, {}), p);

  // Synchronous OCR: the JSON answer and the Markdown alone.
  for (const accept of ['application/json', 'text/markdown']) {
    const res = await upload(A, `${P.ocr}?wait=60`, png, { filename: 'english.png', headers: { ...acme, accept }, fields: { cache: 'bypass' } });
    assert.equal(res.status, 200, accept);
    await c.check(res, P.ocr, 'post');
  }
  for (const [status, send] of [
    [401, () => upload(A, P.ocr, png)],
    [400, () => upload(A, P.ocr, png, { headers: acme, fields: { engine: 'gpu9' } })],
    [403, () => upload(A, P.ocr, png, { headers: { ...acme, origin: 'https://evil.example' } })],
    [413, () => upload(A, P.ocr, randomBytes(1_100_000), { headers: acme })],
    [415, () => upload(A, P.ocr, Buffer.from('plain text'), { headers: acme })],
    [422, () => upload(A, P.ocr, fixture('encrypted.pdf'), { headers: acme })],
    [502, () => json(A, P.ocr, { url: `${siteUrl}/broken` })],
  ] as const) {
    const res = await send();
    assert.equal(res.status, status, `POST /v1/ocr ${status}: ${await res.clone().text()}`);
    await c.check(res, P.ocr, 'post');
  }

  // The seed-compatible routes.
  const compat = await upload(A, P.compat, png, { filename: 'english.png', headers: acme, fields: { cache: 'bypass' } });
  assert.equal(compat.status, 200);
  const taskId = JSON.parse((await c.check(compat, P.compat, 'post')).toString('utf8')).task_id;
  const compatPdf = await upload(A, P.compat, makePdf(['A page']), { filename: 'a.pdf', headers: acme });
  assert.equal(compatPdf.status, 202);
  await c.check(compatPdf, P.compat, 'post');
  for (const [status, send] of [
    [401, () => upload(A, P.compat, png)],
    [403, () => upload(A, P.compat, png, { headers: { ...acme, origin: 'https://evil.example' } })],
    [413, () => upload(A, P.compat, randomBytes(1_100_000), { headers: acme })],
    [415, () => upload(A, P.compat, Buffer.from('plain text'), { headers: acme })],
    [422, () => upload(A, P.compat, fixture('truncated.pdf'), { headers: acme })],
    [400, () => json(A, P.compat, { url: 'ftp://example.com/x.pdf' })],
    [403, () => json(A, P.compat, { url: 'http://10.1.2.3/x.pdf' })],
    [502, () => json(A, P.compat, { url: `${siteUrl}/broken` })],
  ] as const) {
    const res = await send();
    assert.equal(res.status, status, `POST /ocr ${status}: ${await res.clone().text()}`);
    await c.check(res, P.compat, 'post');
  }
  for (const [status, url, headers] of [
    [200, `/result/${taskId}`, acme],
    [404, '/result/no-such-task', acme],
    [401, `/result/${taskId}`, {}],
  ] as const) {
    const res = await get(A, url, headers);
    assert.equal(res.status, status, url);
    await c.check(res, P.compatResult);
  }

  // A path parameter that does not decode is a 400 in the envelope; an id no job can have is a 404.
  for (const [p, item] of Object.entries<any>(doc.paths)) {
    for (const [method] of Object.entries<any>(item)) {
      if (!p.includes('{')) continue;
      const url = p
        .replace(/\{(\w+)\}/, '%zz')
        .replace('{name}', '1_0.jpg')
        .replace('{page}', '1')
        .replace('{n}', '1');
      const res = await fetch(`${A}${url}`, { method: method.toUpperCase(), headers: acme });
      assert.equal(res.status, 400, `${method} ${url}`);
      await c.check(res, p, method);
    }
  }
  const tooLong = await get(A, `/v1/jobs/${'x'.repeat(300)}`);
  assert.equal(tooLong.status, 400, "a parameter past Fastify's maxParamLength");
  await c.check(tooLong, P.job);
  for (const odd of ['a%00b', '..', 'a.b', '%2e%2e', '*', 'a>b']) {
    const res = await get(A, `/v1/jobs/${odd}`);
    assert.equal(res.status, 404, `GET /v1/jobs/${odd}: ${await res.clone().text()}`);
    await c.check(res, P.job);
  }

  // Every operation that needs a key refuses a request without one, or with an unknown one.
  await sweep(A, id, {}, 401);
  await sweep(A, id, { 'x-api-key': 'unknown-key-AAAAAAAAAAAAAAAAAAAA' }, 401);

  // DELETE of an ended job (204), then it is gone; refusals.
  for (const [status, headers] of [
    [403, { ...acme, origin: 'https://evil.example' }],
    [401, {}],
    [404, globex],
    [204, acme],
    [404, acme],
  ] as const) {
    const res = await fetch(`${A}/v1/jobs/${id}`, { method: 'DELETE', headers });
    assert.equal(res.status, status);
    await c.check(res, P.job, 'delete');
  }

  // ---- Stack B: an ingest alone; its jobs stay queued ----
  const queued = await upload(B, P.jobs, png, { filename: 'english.png', headers: acme });
  assert.equal(queued.status, 202);
  const qid: string = (await queued.json()).id;
  for (const [p, url] of [
    [P.result, `/v1/jobs/${qid}/result`],
    [P.tables, `/v1/jobs/${qid}/tables`],
    [P.table, `/v1/jobs/${qid}/tables/1`],
  ] as const) {
    const res = await get(B, url);
    assert.equal(res.status, 409, url);
    await c.check(res, p);
  }
  // A stream held open takes the tenant's one stream slot: a second is a 429 with Retry-After.
  const held = new AbortController();
  const open = await fetch(`${B}/v1/jobs/${qid}/events`, { headers: acme, signal: held.signal });
  const head = c.checkHead(open, P.events);
  const reader = open.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.equal(c.checkEvents(head.where, head.media, first), 1, 'the queued job’s first event');
  const second = await get(B, `/v1/jobs/${qid}/events`);
  assert.equal(second.status, 429);
  assert.ok(second.headers.get('retry-after') && second.headers.get('ratelimit-limit'), 'a cap refusal says when to come back and which limit');
  await c.check(second, P.events);
  held.abort();
  await reader.cancel().catch(() => {});
  // Synchronous calls past their wait: 202 with the job.
  const late = await upload(B, `${P.ocr}?wait=0`, png, { filename: 'english.png', headers: acme, fields: { cache: 'bypass' } });
  assert.equal(late.status, 202);
  await c.check(late, P.ocr, 'post');
  const pending = await upload(B, P.compat, png, { filename: 'english.png', headers: acme });
  assert.equal(pending.status, 202);
  await c.check(pending, P.compat, 'post');
  // Cancelling a running job: 202 with the cancelled job.
  const cancelled = await fetch(`${B}/v1/jobs/${qid}`, { method: 'DELETE', headers: acme });
  assert.equal(cancelled.status, 202);
  await c.check(cancelled, P.job, 'delete');
  // An upload whose body stalls: 408 once the idle timeout passes.
  for (const p of [P.jobs, P.ocr, P.compat]) {
    const res = await stalledUpload(`${B}${p}`, acme);
    assert.equal(res.status, 408, p);
    await c.check(res, p, 'post');
  }

  // No webhook secret configured: 503 with Retry-After.
  const noSecret = await get(B, P.secret);
  assert.equal(noSecret.status, 503);
  await c.check(noSecret, P.secret);

  // A tenant that spent its rate: every limited operation answers 429 with Retry-After and RateLimit-*.
  for (let i = 0; i < RATE_LIMIT; i++) await (await get(B, '/v1/jobs/warm-up', spent)).arrayBuffer();
  await sweep(B, qid, spent, 429, (res, what) =>
    assert.ok(res.headers.get('retry-after') && res.headers.get('ratelimit-remaining') === '0', `${what}: Retry-After and RateLimit-*`),
  );

  // Not ready: B's NATS stopped, /readyz answers 503 (and NATS comes back for the close).
  await b.nats.stop();
  try {
    const res = await get(B, P.readyz, {});
    assert.equal(res.status, 503);
    await c.check(res, P.readyz);
  } finally {
    await b.nats.start();
  }

  // Coverage: every documented response was provoked above, or is listed with its reason.
  const seen = new Set(c.seen.map((s) => `${s.operationId}/${s.status}`));
  const missing: string[] = [];
  for (const item of Object.values<any>(doc.paths)) {
    for (const op of Object.values<any>(item)) {
      for (const status of Object.keys(op.responses)) {
        const k = `${op.operationId}/${status}`;
        if (!seen.has(k) && !UNPROVOKED[k] && !UNPROVOKED[`*/${status}`]) missing.push(k);
      }
    }
  }
  assert.deepEqual(missing, [], 'documented responses neither provoked nor listed in UNPROVOKED');
  const stale = Object.keys(UNPROVOKED).filter((k) => !k.startsWith('*/') && seen.has(k));
  assert.deepEqual(stale, [], 'UNPROVOKED lists responses the walk now provokes');
});
