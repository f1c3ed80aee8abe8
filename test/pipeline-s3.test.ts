// The pipeline end to end with S3 as the blob store (an S3 server over HTTP that checks request
// signatures), not only the blob-store contract: every stage reads and writes its bytes there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Client } from 'minio';
import { makePdf } from './helpers/make-pdf.ts';
import { startS3 } from './helpers/s3-server.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

const BUCKET = 'folio-pipeline';
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
let s3: Awaited<ReturnType<typeof startS3>>;
let stack: TestStack;
let client: Client;

before(async () => {
  s3 = await startS3();
  stack = await startTestStack({ env: { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_BUCKET: BUCKET } });
  const url = new URL(s3.endpoint);
  client = new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    region: 'us-east-1',
    pathStyle: true,
  });
});
after(async () => {
  await stack?.close();
  await s3?.close();
});

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of client.listObjectsV2(BUCKET, prefix, true)) if (o.name) keys.push(o.name);
  return keys.sort();
}

test('with S3_ENDPOINT set, the services keep their blobs in S3', () => {
  assert.equal(stack.rt.blobs.kind, 's3');
});

test('a 3-page PDF goes through the four services over S3: page images and the document land in the bucket; its small source and page results travel in the messages', async () => {
  const res = await upload(stack.url, '/v1/jobs', makePdf(['S3 page one', 'S3 page two', 'S3 page three']), { filename: 's3.pdf' });
  assert.equal(res.status, 202);
  const { id } = await res.json();
  const job = await waitForTerminal(stack.url, id);
  assert.equal(job.status, 'completed');
  assert.deepEqual(job.pages, { total: 3, done: 3, failed: 0 });

  const doc = await (await fetch(`${stack.url}/v1/jobs/${id}/result?format=json`)).json();
  assert.deepEqual(
    doc.pages.map((p: { page: number }) => p.page),
    [1, 2, 3],
  );
  const md = await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).text();
  assert.match(md, /SIMULATED OUTPUT/);
  assert.deepEqual(
    [...md.matchAll(/<!-- page (\d+) -->/g)].map((m) => Number(m[1])),
    [2, 3],
  );

  // Under 64 KiB (INLINE_MAX_BYTES) the source rides in the job message and each page result in
  // its page.done message and page record: no object for either.
  assert.deepEqual(await keysUnder(`sources/${id}`), []);
  const pages = await keysUnder(`pages/${id}/`);
  for (const n of [1, 2, 3]) assert.ok(pages.includes(`pages/${id}/${n}.png`), `page image ${n} in S3 (have ${pages.join(', ')})`);
  const results = await keysUnder(`results/${id}/`);
  // The document and the figure crops the simulator's output links (one per page); no per-page result.
  assert.deepEqual(results, [`results/${id}/document.json`, `results/${id}/document.md`, ...[1, 2, 3].map((n) => `results/${id}/images/${n}_0.jpg`)]);
  // What the API served is what S3 holds.
  const stored = await client.getObject(BUCKET, `results/${id}/document.md`);
  let text = '';
  for await (const c of stored) text += c.toString();
  assert.equal(text, md);
});

test('an image job over S3: its figure crop is stored in the bucket and served from there', async () => {
  const res = await upload(stack.url, '/v1/jobs', fixture('english.png'), { filename: 'english.png', fields: { cache: 'bypass' } });
  const { id } = await res.json();
  assert.equal((await waitForTerminal(stack.url, id)).status, 'completed');
  // 92 KB: over the inline limit, so the source goes through the bucket.
  assert.deepEqual(await keysUnder(`sources/${id}`), [`sources/${id}`]);
  const md = await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).text();
  const link = /!\[\]\((images\/\d+_\d+\.jpg)\)/.exec(md)?.[1];
  assert.ok(link, 'the Markdown links a figure');
  assert.ok((await keysUnder(`results/${id}/images/`)).includes(`results/${id}/${link}`), 'the crop is in S3');
  const img = await fetch(new URL(link, `${stack.url}/v1/jobs/${id}/result`));
  assert.equal(img.status, 200);
  assert.equal(img.headers.get('content-type'), 'image/jpeg');
});

test('deleting a finished job removes its objects from S3', async () => {
  const res = await upload(stack.url, '/v1/jobs', makePdf(['delete me', 'and me']), { filename: 'gone.pdf' });
  const { id } = await res.json();
  assert.equal((await waitForTerminal(stack.url, id)).status, 'completed');
  assert.ok((await keysUnder(`results/${id}/`)).length > 0);
  const del = await fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  for (const prefix of [`sources/${id}`, `pages/${id}/`, `results/${id}/`]) assert.deepEqual(await keysUnder(prefix), [], `nothing left under ${prefix}`);
  assert.equal((await fetch(`${stack.url}/v1/jobs/${id}`)).status, 404);
});
