import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pageRegions } from '../services/ingest/formats/page-words.ts';
import type { DocumentResult } from '../shared/bus/index.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';
import { pdfInfo, pdfText, pdfWords, pdftotext } from './helpers/pdf-words.ts';
import { outsideTool } from './helpers/outside-tool.ts';

// A scanned page read by the embedded CPU engine (real line boxes), then asked for as a
// searchable PDF, hOCR and ALTO through the HTTP API.
const xmllint = outsideTool('xmllint', ['xmllint', '--version'], 'Debian package libxml2-utils');
const SCAN = readFileSync(new URL('./fixtures/english_scan.jpg', import.meta.url));
const ALTO_XSD = fileURLToPath(new URL('./fixtures/alto/alto-4-4.xsd', import.meta.url));
const KEY = 'outputs-key-AAAAAAAAAAAAAAAAAAAAAA';
const OTHER = 'outputs-other-BBBBBBBBBBBBBBBBBBBBB';
const auth = { authorization: `Bearer ${KEY}` };
let stack: TestStack;
let id: string;
let doc: DocumentResult;

before(async () => {
  stack = await startTestStack({ engine: 'cpu', env: { FOLIO_API_KEYS: `acme=${KEY},globex=${OTHER}` } });
  const res = await upload(stack.url, '/v1/jobs', SCAN, { filename: 'english scan.jpg', type: 'image/jpeg', fields: { engine: 'cpu' }, headers: auth });
  assert.equal(res.status, 202, await res.clone().text());
  id = (await res.json()).id;
  assert.equal((await waitForTerminal(stack.url, id, 120_000, auth)).status, 'completed');
  doc = await (await fetch(`${stack.url}/v1/jobs/${id}/result?format=json`, { headers: auth })).json();
});
after(async () => {
  await stack?.close();
});

const words = (s: string) => s.split(/\s+/).filter(Boolean);

describe('outputs of a scanned page read by the CPU engine', () => {
  it("the layout JSON keeps each paragraph's lines with their boxes", () => {
    const text = doc.pages[0].blocks.filter((b) => b.type !== 'image');
    assert.ok(text.length >= 2);
    for (const b of text) {
      assert.ok(b.lines && b.lines.length > 0, `${b.type} "${b.text.slice(0, 30)}" has lines`);
      // (1 px for rounding: both are mapped back from the engine's levelled frame.)
      for (const l of b.lines)
        assert.ok(
          l.bbox[0] >= b.bbox[0] - 1 && l.bbox[2] <= b.bbox[2] + 1 && l.bbox[1] >= b.bbox[1] - 1 && l.bbox[3] <= b.bbox[3] + 1,
          `line ${l.bbox} in block ${b.bbox}`,
        );
    }
  });

  it('format=pdf: a PDF whose text pdftotext extracts in reading order, each word within its box', { skip: pdftotext.skip }, async () => {
    const res = await fetch(`${stack.url}/v1/jobs/${id}/result?format=pdf`, { headers: auth });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/pdf');
    assert.equal(res.headers.get('content-disposition'), 'inline; filename="english_scan.pdf"');
    const pdf = Buffer.from(await res.arrayBuffer());
    const page = doc.pages[0];
    // The page is the page image at its resolution: points per image pixel from the page size.
    const pageSize = pdfInfo(pdf)['Page size'];
    const [w, h] = pageSize
      .split(' ')
      .filter((s) => /^[\d.]+$/.test(s))
      .map(Number);
    const k = w / page.width!;
    assert.ok(Math.abs(h / page.height! - k) < 1e-3);
    const want = pageRegions(page).flatMap((r) => r.lines.flatMap((l) => l.words.map((wd) => ({ text: wd.text, box: wd.bbox.map((v) => v * k) }))));
    // Each word is where its box is (pdftotext -bbox lists words in poppler's own order: matched by place).
    const got = pdfWords(pdf);
    assert.equal(got.length, want.length);
    const inside = (g: (typeof got)[number], e: number[]) =>
      g.box[0] >= e[0] - 0.5 && g.box[2] <= e[2] + 0.5 && g.box[1] >= e[1] - 0.5 && g.box[3] <= e[3] + 0.5;
    const unused = new Set(got);
    for (const e of want) {
      const g = [...unused].find((x) => x.text === e.text && inside(x, e.box));
      assert.ok(g, `"${e.text}" within ${e.box.map((v) => v.toFixed(1))}`);
      unused.delete(g);
    }
    // Reading order: the PDF draws the words in the layout JSON's order, which pdftotext -raw reads back.
    const lines = page.blocks.flatMap((b) => b.lines?.map((l) => l.text) ?? []);
    assert.deepEqual(words(pdfText(pdf, 'raw')), words(lines.join(' ')));
    // Poppler's own reading order (columns found from geometry, as for any PDF) agrees on the prose;
    // it reads a table's cells in an order of its own.
    const prose = page.blocks.filter((b) => b.order! < page.blocks.find((t) => t.type === 'table')!.order!).flatMap((b) => b.lines!.map((l) => l.text));
    assert.ok(prose.length >= 5);
    const reading = words(pdfText(pdf, 'reading'));
    assert.deepEqual(reading.slice(0, words(prose.join(' ')).length), words(prose.join(' ')));
    assert.deepEqual([...reading].sort(), words(lines.join(' ')).sort());
    // And it is the page's text: the words the Markdown has, table cells included.
    const md = new Set(words(page.markdown.replace(/[|#*-]+/g, ' ')));
    assert.ok(got.filter((g) => md.has(g.text)).length >= 0.9 * got.length);
  });

  it('format=hocr and format=alto: XHTML that parses with a word per engine word, ALTO that validates', { skip: xmllint.skip }, async () => {
    const hocr = await fetch(`${stack.url}/v1/jobs/${id}/result?format=hocr`, { headers: auth });
    assert.equal(hocr.status, 200);
    assert.equal(hocr.headers.get('content-type'), 'application/xhtml+xml; charset=utf-8');
    const alto = await fetch(`${stack.url}/v1/jobs/${id}/result?format=alto`, { headers: auth });
    assert.equal(alto.status, 200);
    assert.equal(alto.headers.get('content-type'), 'application/xml; charset=utf-8');
    const n = pageRegions(doc.pages[0]).reduce((s, r) => s + r.lines.reduce((t, l) => t + l.words.length, 0), 0);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-xml-'));
    try {
      writeFileSync(path.join(dir, 'page.hocr'), await hocr.text());
      writeFileSync(path.join(dir, 'page.xml'), await alto.text());
      const words = spawnSync('xmllint', ['--nonet', '--xpath', "count(//*[@class='ocrx_word'])", path.join(dir, 'page.hocr')], { encoding: 'utf8' });
      assert.equal(words.status, 0, words.stderr);
      assert.equal(Number(words.stdout), n);
      const valid = spawnSync('xmllint', ['--noout', '--nonet', '--schema', ALTO_XSD, path.join(dir, 'page.xml')], { encoding: 'utf8' });
      assert.equal(valid.status, 0, valid.stderr);
      const strings = spawnSync('xmllint', ['--nonet', '--xpath', "count(//*[local-name()='String'])", path.join(dir, 'page.xml')], { encoding: 'utf8' });
      assert.equal(Number(strings.stdout), n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("another tenant's job is a 404 in every format; an unknown format is refused", async () => {
    for (const format of ['pdf', 'hocr', 'alto']) {
      const res = await fetch(`${stack.url}/v1/jobs/${id}/result?format=${format}`, { headers: { authorization: `Bearer ${OTHER}` } });
      assert.equal(res.status, 404, format);
      assert.equal((await res.json()).error.code, 'FOLIO_JOB_NOT_FOUND');
    }
    const bad = await fetch(`${stack.url}/v1/jobs/${id}/result?format=docx`, { headers: auth });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, 'FOLIO_INVALID_OPTIONS');
  });
});
