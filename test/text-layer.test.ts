import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type PageText, JobOptions } from '../shared/bus/index.ts';
import { isFailedRender, renderPages } from '../services/rasterizer/rasterize.ts';
import { createRenderers } from '../services/rasterizer/renderers.ts';
import { isTextLayerUsable, textLayerToOutput } from '../services/ocr/engines/text-layer.ts';
import { chooseEngine } from '../services/ocr/engine-choice.ts';
import type { OcrEngine } from '../services/ocr/engine.ts';
import { cer, stripMarkdown } from './helpers/cer.ts';
import { pdfPage, type PdfRun } from './helpers/pdf-page.ts';

const fixturePath = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Text layers exactly as the rasterizer hands them to OCR (page-image pixels at 144 DPI). */
async function textLayers(pdf: string | Buffer): Promise<PageText[]> {
  const out: PageText[] = [];
  const opts = { dpi: 144, maxLongSide: 4000, maxInputPixels: 100e6, maxPages: 100, openTimeoutMs: 60_000, pageTimeoutMs: 60_000 };
  const renderers = createRenderers({ size: 1, memoryMb: 2048 });
  const source = typeof pdf === 'string' ? { path: fixturePath(pdf) } : { data: pdf };
  try {
    for await (const page of renderPages(renderers, source, 'application/pdf', opts)) {
      if (isFailedRender(page)) throw page.error;
      assert.ok(page.text, `page ${page.page} has a text layer`);
      out.push(page.text);
    }
  } finally {
    await renderers.close();
  }
  return out;
}

const page = (items: Array<[string, number, number]>, missingFonts = false): PageText => ({
  page: 1,
  width: 1000,
  height: 1400,
  missingFonts,
  items: items.map(([text, x, y]) => ({ text, bbox: [x, y, x + text.length * 10, y + 20], fontSize: 18 })),
});

/** A receipt-sized page: four short lines, the kind of page a text layer reads perfectly. */
const receipt = (dx: number, dy: number): PdfRun[] =>
  [
    ['Receipt No. 4411', 10, 270],
    ['Coffee beans 250 g', 8, 250],
    ['Total paid: 12.40', 8, 236],
    ['Thank you for your visit', 7, 220],
  ].map(([text, size, y]) => ({ text: text as string, size: size as number, x: 12 + dx, y: (y as number) + dy }));

let doc10: PageText[];
let cjk: PageText;
let hidden: PageText;
let small: PageText;
let offset: PageText;
before(async () => {
  doc10 = await textLayers('doc10.pdf');
  [cjk] = await textLayers('cjk_nonembedded.pdf');
  [hidden] = await textLayers(
    pdfPage(
      [0, 0, 612, 792],
      [
        { text: 'Printed text that a reader sees on the page.', x: 72, y: 700, size: 12 },
        { text: 'VerDate Sep<11>2014 16:21 Jkt 250001 PO 00000 Frm 00001', x: 30, y: 30, size: 7, mode: 3 },
        { text: 'white on white metadata', x: 72, y: 600, size: 12, grey: 1 },
      ],
    ),
  );
  [small] = await textLayers(pdfPage([0, 0, 180, 300], receipt(0, 0)));
  // An odd page box: not at the origin, and not a paper size.
  [offset] = await textLayers(pdfPage([100, 200, 280, 517], receipt(100, 200)));
});

const cpu = { name: 'cpu' } as OcrEngine;
const engines = { default: cpu, get: async () => cpu };

test('text the rendered page does not show (invisible mode, white on white) is not in the text layer', () => {
  assert.deepEqual(
    hidden.items.map((i) => i.text),
    ['Printed text that a reader sees on the page.'],
  );
});

test('small pages and odd page boxes keep their text layer: read from it, not sent to OCR', async () => {
  for (const [name, text] of [
    ['180×300 pt', small],
    ['offset box', offset],
  ] as const) {
    assert.equal(text.width, 360, name); // 180 pt at 144 dpi
    assert.ok(isTextLayerUsable(text), name);
    const engine = await chooseEngine(engines, JobOptions.parse({}), text);
    assert.equal(engine.name, 'text-layer', name);
    const out = textLayerToOutput(text);
    assert.equal(stripMarkdown(out.markdown).replace(/\s+/g, ' '), 'Receipt No. 4411 Coffee beans 250 g Total paid: 12.40 Thank you for your visit', name);
  }
});

test('doc10: every page reads exactly, as heading, paragraph, pipe table and note', () => {
  const truth = JSON.parse(readFileSync(fixturePath('doc10.gt.json'), 'utf8')) as string[];
  assert.equal(doc10.length, 10);
  doc10.forEach((text, i) => {
    assert.ok(isTextLayerUsable(text));
    const out = textLayerToOutput(text);
    assert.equal(out.engine, 'text-layer');
    assert.equal(cer(stripMarkdown(out.markdown), truth[i]), 0, out.markdown);
    assert.deepEqual(
      out.blocks.map((b) => b.type),
      ['title', 'text', 'table', 'text'],
    );
    for (const b of out.blocks) assert.ok(b.bbox[0] >= 0 && b.bbox[2] <= text.width && b.bbox[1] >= 0 && b.bbox[3] <= text.height);
  });
  const first = textLayerToOutput(doc10[0]).markdown;
  assert.ok(first.startsWith('# Section 1: Inventory Summary for Warehouse A\n\nThis page lists'), first);
  assert.ok(first.includes('| SKU | Description | Qty | Status |\n| --- | --- | --- | --- |\n| WH01-001 | Steel bolts M8 | 50 | ok |'), first);
});

test('non-embedded CJK fonts: the page image shows boxes, but the text layer is usable and right', () => {
  assert.equal(cjk.missingFonts, true);
  assert.ok(isTextLayerUsable(cjk));
  const out = textLayerToOutput(cjk);
  assert.equal(stripMarkdown(out.markdown), '增值税发票 发票代码 14403240');
});

test('fragments of a line join with the spaces the PDF implied, CJK without', () => {
  const out = textLayerToOutput(
    page([
      ['Hello', 100, 100],
      [' world,', 150, 100], // the space is part of the run
      ['again', 225, 100], // a 5 px (0.3 em) jump: a word space the PDF did not spell out
      ['发票', 100, 200],
      ['代码', 120, 200],
    ]),
  );
  assert.equal(out.markdown, 'Hello world, again\n\n发票代码');
});

test('text drawn twice for fake bold is kept once', () => {
  const out = textLayerToOutput(
    page([
      ['Bold heading text', 100, 100],
      ['Bold heading text', 100.5, 100.3],
    ]),
  );
  assert.equal(out.markdown, 'Bold heading text');
});

test('usable: enough letters or digits of any script, garbage refused', () => {
  assert.equal(isTextLayerUsable(page([])), false);
  assert.equal(isTextLayerUsable(page([['p. 3', 10, 10]])), false, 'a page number alone is not a page');
  assert.equal(isTextLayerUsable(page([['An ordinary sentence of text.', 10, 10]])), true);
  assert.equal(isTextLayerUsable(page([['发票代码一二三四五六', 10, 10]], true)), true, 'missing fonts with real text');
  assert.equal(isTextLayerUsable(page([['\ue000\ue001\ue002\ue003 abcdefghij \ue004\ue005', 10, 10]])), false, 'private-use glyph codes');
  assert.equal(isTextLayerUsable(page([['\ufffd\ufffd\ufffdabcdefghijkl', 10, 10]])), false, 'replacement characters');
  assert.equal(isTextLayerUsable(page([['!#$%&()*+,-./:;<=>?@[]^_{}~ abcdefgh', 10, 10]])), false, 'mostly symbols');
  assert.equal(isTextLayerUsable(page([['ÃÂ©Ã¨Â¤Ã¼Ã¶Ã¤Â°Ã¢Â€Â™ text', 10, 10]])), false, 'Latin-1 mojibake');
  assert.equal(isTextLayerUsable(page([['Größenänderung für Bücher', 10, 10]])), true, 'accents are not mojibake');
});

test('a three-column page on shared baselines with 1-em gutters is read column by column, not as a table', () => {
  // The Federal Register's grid: 18 px type, lines 20 px apart in every column, gutters of 19 px.
  const words = ['proposal', 'explain', 'the', 'reason', 'for', 'any', 'recommended', 'change', 'and', 'include', 'supporting', 'data'];
  const items: PageText['items'] = [];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 30; i++) {
      const text = `c${c}l${i} ${words.slice(i % 5, (i % 5) + 5).join(' ')}`;
      const x = 90 + c * 354;
      items.push({ text, bbox: [x, 200 + i * 20, x + 335, 218 + i * 20], fontSize: 18 });
    }
  }
  const out = textLayerToOutput({ page: 1, width: 1224, height: 1584, missingFonts: false, items });
  assert.ok(!out.markdown.includes('|'), 'columns are not a table');
  const at = (tag: string) => out.markdown.indexOf(`${tag} `);
  for (let c = 0; c < 3; c++) for (let i = 1; i < 30; i++) assert.ok(at(`c${c}l${i - 1}`) < at(`c${c}l${i}`), `c${c}: line ${i - 1} before ${i}`);
  assert.ok(at('c0l29') < at('c1l0') && at('c1l29') < at('c2l0'), out.markdown.slice(0, 400));
});
