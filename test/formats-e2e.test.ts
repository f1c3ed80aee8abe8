import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pl from 'nodejs-polars';
import { makePdf } from './helpers/make-pdf.ts';
import { pdfInfo, pdfText, pdfWords, pdftotext } from './helpers/pdf-words.ts';
import { pageRegions } from '../services/ingest/formats/page-words.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

// The whole pipeline with the vLLM simulator as the backend: each page answers with DeepSeek-OCR's
// shapes, a table with spans written before its caption among them (tools/vllm-sim/output.ts).
const ACME = randomBytes(24).toString('hex');
const GLOBEX = randomBytes(24).toString('hex');
const acme = { authorization: `Bearer ${ACME}` };
const globex = { authorization: `Bearer ${GLOBEX}` };
let stack: TestStack;
let id: string;
let doc: any;

before(async () => {
  stack = await startTestStack({ env: { FOLIO_API_KEYS: `acme=${ACME},globex=${GLOBEX}` } });
  const res = await upload(stack.url, '/v1/jobs', makePdf(['First page', 'Second page']), {
    filename: 'two.pdf',
    type: 'application/pdf',
    fields: { engine: 'vllm', textLayer: 'never' },
    headers: acme,
  });
  assert.equal(res.status, 202, await res.clone().text());
  id = (await res.json()).id;
  const job = await waitForTerminal(stack.url, id, 60_000, acme);
  assert.equal(job.status, 'completed');
  doc = await (await fetch(`${stack.url}/v1/jobs/${id}/result?format=json`, { headers: acme })).json();
});
after(async () => {
  await stack?.close();
});

test('GET /tables lists each table with its page, box, caption and shape, as in the layout JSON', async () => {
  const res = await fetch(`${stack.url}/v1/jobs/${id}/tables`, { headers: acme });
  assert.equal(res.status, 200);
  const { tables } = await res.json();
  assert.equal(tables.length, 2);
  for (const [i, t] of tables.entries()) {
    const page = doc.pages[i];
    const block = page.blocks.find((b: any) => b.type === 'table');
    assert.equal(t.n, i + 1);
    assert.equal(t.page, page.page);
    assert.deepEqual(t.bbox, block.bbox);
    assert.match(t.caption, /^Table 1: simulated measurements of page [0-9a-f]{16}$/);
    assert.deepEqual(t.shape, [3, 3]);
    assert.deepEqual(t.columns, ['Property', 'Value / pixels', 'Value / note']);
    assert.equal(t.links.parquet, `/v1/jobs/${id}/tables/${i + 1}?format=parquet`);
  }
});

test('a table downloads as CSV and as Parquet (read back with polars) with the right cells', async () => {
  const { width, height } = doc.pages[0];
  const csv = await fetch(`${stack.url}/v1/jobs/${id}/tables/1?format=csv`, { headers: acme });
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type')!, /^text\/csv/);
  const lines = (await csv.text()).trim().split('\n');
  assert.equal(lines[0], 'Property,Value / pixels,Value / note');
  assert.equal(lines[1], `width,${width},simulated`);
  assert.equal(lines[2], `height,${height},simulated`);

  const parquet = await fetch(`${stack.url}/v1/jobs/${id}/tables/1?format=parquet`, { headers: acme });
  assert.equal(parquet.status, 200);
  const df = pl.readParquet(Buffer.from(await parquet.arrayBuffer()));
  assert.deepEqual(df.columns, ['Property', 'Value / pixels', 'Value / note']);
  assert.deepEqual(df.rows().slice(0, 2), [
    ['width', String(width), 'simulated'],
    ['height', String(height), 'simulated'],
  ]);
  const json = await (await fetch(`${stack.url}/v1/jobs/${id}/tables/2?format=json`, { headers: acme })).json();
  assert.equal(json.page, 2);
  assert.deepEqual(json.rows[0], ['width', String(doc.pages[1].width), 'simulated']);
});

test("HTML: one anchor per page, and its blocks' boxes are the JSON's", async () => {
  const res = await fetch(`${stack.url}/v1/jobs/${id}/result?format=html`, { headers: acme });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/html/);
  assert.match(res.headers.get('content-security-policy')!, /default-src 'none'/);
  const html = await res.text();
  for (const page of doc.pages) {
    assert.ok(html.includes(`id="page-${page.page}"`));
    const section = html.slice(html.indexOf(`id="page-${page.page}"`), html.indexOf('</section>', html.indexOf(`id="page-${page.page}"`)));
    const boxes = [...section.matchAll(/data-bbox="([\d,]+)"/g)].map((m) => m[1]);
    assert.deepEqual(new Set(boxes), new Set(page.blocks.map((b: any) => b.bbox.join(','))));
    assert.ok(section.includes(`<img src="images/${page.page}_0.jpg"`));
  }
  // The figure link resolves from the result URL to the crop the API serves.
  const img = await fetch(new URL(`images/1_0.jpg`, `${stack.url}/v1/jobs/${id}/result`), { headers: acme });
  assert.equal(img.status, 200);
  assert.equal(img.headers.get('content-type'), 'image/jpeg');
});

test('chunks: page numbers and boxes are those of the JSON blocks they came from', async () => {
  const res = await fetch(`${stack.url}/v1/jobs/${id}/result?format=chunks&maxTokens=64&overlap=8`, { headers: acme });
  assert.equal(res.status, 200);
  const { chunks, maxTokens } = await res.json();
  assert.equal(maxTokens, 64);
  assert.ok(chunks.length >= 2);
  const boxesByPage = new Map<number, string[]>(doc.pages.map((p: any) => [p.page, p.blocks.map((b: any) => b.bbox.join(','))]));
  for (const c of chunks) {
    assert.ok(c.tokens <= 64);
    for (const box of c.boxes) assert.ok(boxesByPage.get(box.page)!.includes(box.bbox.join(',')), `box ${box.bbox} on page ${box.page}`);
    assert.deepEqual(c.pages, [...new Set(c.boxes.map((b: any) => b.page))]);
    assert.match(c.headings[0], /^Simulated page /);
  }
  assert.deepEqual([...new Set(chunks.flatMap((c: any) => c.pages))], [1, 2]);
});

test("pdf, hOCR and ALTO from a vision model's blocks: every word inside its block's box, in the blocks' order", async () => {
  const pdf = await fetch(`${stack.url}/v1/jobs/${id}/result?format=pdf`, { headers: acme });
  assert.equal(pdf.status, 200);
  assert.equal(pdf.headers.get('content-type'), 'application/pdf');
  const bytes = Buffer.from(await pdf.arrayBuffer());
  assert.equal(bytes.subarray(0, 8).toString('latin1'), '%PDF-1.5');
  if (!pdftotext.skip) {
    const words = pdfWords(bytes);
    const [w] = pdfInfo(bytes)['Page size'].split(' ').map(Number);
    for (const [i, page] of doc.pages.entries()) {
      const k = w / page.width;
      const texts = page.blocks.filter((b: any) => b.type !== 'image');
      const mine = words.filter((x) => x.page === i + 1);
      assert.ok(mine.length > 10);
      for (const x of mine) {
        const inBlock = (b: any) =>
          x.box[0] >= b.bbox[0] * k - 0.5 && x.box[2] <= b.bbox[2] * k + 0.5 && x.box[1] >= b.bbox[1] * k - 0.5 && x.box[3] <= b.bbox[3] * k + 0.5;
        assert.ok(texts.some(inBlock), `"${x.text}" (page ${i + 1}) at ${x.box} inside a block`);
      }
    }
    // In the blocks' reading order (the table written before its caption stays before it).
    const order = doc.pages.flatMap((p: any) => pageRegions(p).flatMap((r) => r.lines.flatMap((l) => l.words.map((x) => x.text))));
    assert.deepEqual(pdfText(bytes, 'raw').split(/\s+/).filter(Boolean), order);
  }
  for (const [format, type] of [
    ['hocr', 'application/xhtml+xml; charset=utf-8'],
    ['alto', 'application/xml; charset=utf-8'],
  ]) {
    const res = await fetch(`${stack.url}/v1/jobs/${id}/result?format=${format}`, { headers: acme });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), type);
    const body = await res.text();
    assert.equal((body.match(format === 'hocr' ? /class="ocr_page"/g : /<Page /g) ?? []).length, 2);
  }
});

test("every new route is tenant-scoped: another tenant's job is a 404", async () => {
  for (const path of [
    'tables',
    'tables/1?format=csv',
    'result?format=html',
    'result?format=chunks',
    'result?format=pdf',
    'result?format=hocr',
    'result?format=alto',
  ]) {
    const res = await fetch(`${stack.url}/v1/jobs/${id}/${path}`, { headers: globex });
    assert.equal(res.status, 404, path);
    assert.equal((await res.json()).error.code, 'FOLIO_JOB_NOT_FOUND');
  }
  const missing = await fetch(`${stack.url}/v1/jobs/${id}/tables/9`, { headers: acme });
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, 'FOLIO_TABLE_NOT_FOUND');
  const bad = await fetch(`${stack.url}/v1/jobs/${id}/tables/1?format=xlsx`, { headers: acme });
  assert.equal((await bad.json()).error.code, 'FOLIO_INVALID_OPTIONS');
});

test("the layout JSON Schema is served at its stable URL, and the document has every block's reading order", async () => {
  const res = await fetch(`${stack.url}/v1/schemas/document-v1.json`, { headers: acme });
  assert.equal(res.status, 200);
  const schema = await res.json();
  assert.equal(schema.$id, 'folio:schemas/document-v1.json');
  for (const p of doc.pages)
    assert.deepEqual(
      p.blocks.map((b: any) => b.order),
      p.blocks.map((_: unknown, i: number) => i),
    );
});
