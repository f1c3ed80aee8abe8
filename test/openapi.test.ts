import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';
import { OPERATIONS } from '../services/ingest/openapi.ts';
import { openApiChecker } from './helpers/openapi-check.ts';

const png = readFileSync(new URL('./fixtures/english.png', import.meta.url));
const KEY = 'openapi-key-AAAAAAAAAAAAAAAAAAAA';
const auth = { authorization: `Bearer ${KEY}` };
let stack: TestStack;
let doc: any;
let checker: ReturnType<typeof openApiChecker>;

before(async () => {
  stack = await startTestStack({ env: { FOLIO_API_KEYS: `acme=${KEY}`, FOLIO_WEBHOOK_SECRET: 'openapi-test-master-secret' } });
  doc = await (await fetch(`${stack.url}/docs/json`)).json();
  // ajv in strict mode with formats on (test/helpers/openapi-check.ts).
  checker = openApiChecker(doc);
});
after(async () => {
  await stack?.close();
});

/** Checks a real response against the document: status, content type, headers and body (read from a clone). */
async function conforms(res: Response, path: string, method = 'get') {
  await checker.check(res.clone(), path, method);
  return res;
}

test('the document passes the Redocly linter (recommended-strict) with no problem', async () => {
  // Probes and metrics have no 4xx answer; every other operation's 4xx answers are checked below.
  const config = await createConfig({ extends: ['recommended-strict'], rules: { 'operation-4xx-response': 'off' } } as never);
  const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: '/openapi.json', config });
  assert.deepEqual(
    problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer}`),
    [],
  );
});

test('every route is documented with an operation id, parameters, its responses and the error envelope; keys are a security scheme', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKeyHeader', 'bearerAuth']);
  const ids = new Set<string>();
  for (const op of OPERATIONS) {
    const o = doc.paths[op.path]?.[op.method];
    assert.ok(o, `${op.method} ${op.path}`);
    assert.ok(!ids.has(o.operationId), `operation ids are unique (${o.operationId})`);
    ids.add(o.operationId);
    for (const name of op.path.match(/\{(\w+)\}/g) ?? [])
      assert.ok(
        o.parameters.some((p: any) => p.in === 'path' && `{${p.name}}` === name),
        `${op.path} documents ${name}`,
      );
    if (!op.open) {
      assert.ok(o.responses['401'], `${op.path} documents 401`);
      assert.equal(o.responses['401'].content['application/json'].schema.$ref, '#/components/schemas/Error');
      assert.ok(o.security.length > 0);
    }
  }
  const submit = doc.paths['/v1/jobs'].post;
  assert.equal(submit.responses['202'].headers.Location.schema.type, 'string');
  assert.ok(submit.requestBody.content['multipart/form-data'] && submit.requestBody.content['application/octet-stream']);
  assert.deepEqual(doc.components.schemas.UploadForm.properties.engine.enum, ['auto', 'cpu', 'vllm'], 'options come from the zod schema');
  assert.ok(
    submit.parameters.some((p: any) => p.in === 'query' && p.name === 'pages'),
    'raw-body uploads take the options in the query',
  );
  assert.ok(!('200' in submit.responses), 'POST /v1/jobs answers 202, not 200');
});

test('real answers validate against the document: submit, status, SSE, result (Markdown and JSON), page image, sync, compat, errors, delete', async () => {
  const accepted = await conforms(await upload(stack.url, '/v1/jobs', png, { filename: 'english.png', headers: auth }), '/v1/jobs', 'post');
  assert.equal(accepted.status, 202);
  const { id } = await accepted.json();
  await conforms(await fetch(`${stack.url}/v1/jobs/${id}`, { headers: auth }), '/v1/jobs/{id}');

  const sse = await fetch(`${stack.url}/v1/jobs/${id}/events`, { headers: auth });
  const events = checker.checkHead(sse, '/v1/jobs/{id}/events');
  assert.ok(checker.checkEvents(events.where, events.media, await sse.text()) > 0, 'at least one event, each a Job');
  const end = await waitForTerminal(stack.url, id, 60_000, auth);
  assert.equal(end.status, 'completed');
  assert.equal(end.result, undefined, 'no internal object keys in the status');
  assert.equal(end.progress.etaSeconds, 0);

  const md = await conforms(await fetch(`${stack.url}/v1/jobs/${id}/result`, { headers: auth }), '/v1/jobs/{id}/result');
  assert.match(await md.text(), /SIMULATED OUTPUT/);
  await conforms(await fetch(`${stack.url}/v1/jobs/${id}/result?format=json`, { headers: auth }), '/v1/jobs/{id}/result');
  // Every format of the result answers with a documented content type (issue 18's pdf, hocr and alto among them).
  for (const [format, type] of [
    ['html', 'text/html'],
    ['chunks', 'application/json'],
    ['pdf', 'application/pdf'],
    ['hocr', 'application/xhtml+xml'],
    ['alto', 'application/xml'],
  ]) {
    const res = await conforms(await fetch(`${stack.url}/v1/jobs/${id}/result?format=${format}`, { headers: auth }), '/v1/jobs/{id}/result');
    assert.equal(res.status, 200, format);
    assert.equal(res.headers.get('content-type')!.split(';')[0], type);
    await res.arrayBuffer();
  }
  const image = await conforms(await fetch(`${stack.url}${end.links.pageImage.replace('{page}', '1')}`, { headers: auth }), '/v1/jobs/{id}/pages/{page}/image');
  assert.equal(image.status, 200);
  assert.deepEqual([...new Uint8Array(await image.arrayBuffer()).subarray(1, 4)], [0x50, 0x4e, 0x47]);

  await conforms(await upload(stack.url, '/v1/ocr?wait=60', png, { filename: 'english.png', headers: auth, fields: { cache: 'bypass' } }), '/v1/ocr', 'post');
  const compat = await conforms(await upload(stack.url, '/ocr', png, { filename: 'english.png', headers: auth }), '/ocr', 'post');
  await conforms(await fetch(`${stack.url}/result/${(await compat.json()).task_id}`, { headers: auth }), '/result/{task_id}');
  await conforms(await fetch(`${stack.url}/v1/webhook-secret`, { headers: auth }), '/v1/webhook-secret');
  await conforms(await fetch(`${stack.url}/healthz`), '/healthz');
  await conforms(await fetch(`${stack.url}/readyz`), '/readyz');

  // Errors: the envelope, with the documented status.
  assert.equal((await conforms(await fetch(`${stack.url}/v1/jobs/nope`, { headers: auth }), '/v1/jobs/{id}')).status, 404);
  assert.equal((await conforms(await fetch(`${stack.url}/v1/jobs/${id}`), '/v1/jobs/{id}')).status, 401);
  assert.equal((await conforms(await upload(stack.url, '/v1/jobs', png, { headers: auth, fields: { dpi: '5000' } }), '/v1/jobs', 'post')).status, 400);
  assert.equal((await conforms(await fetch(`${stack.url}/v1/jobs/${id}/result?format=docx`, { headers: auth }), '/v1/jobs/{id}/result')).status, 400);
  assert.equal((await conforms(await fetch(`${stack.url}/v1/jobs/${id}/pages/9/image`, { headers: auth }), '/v1/jobs/{id}/pages/{page}/image')).status, 404);
  assert.equal((await conforms(await fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE', headers: auth }), '/v1/jobs/{id}', 'delete')).status, 204);
});
