import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PageText } from '../shared/messages.ts';
import { isFailedRender, renderPages } from '../services/rasterizer/rasterize.ts';
import { createRenderers } from '../services/rasterizer/renderers.ts';
import { isTextLayerUsable, textLayerToOutput } from '../services/ocr/engines/text-layer.ts';
import { cer, stripMarkdown } from './helpers/cer.ts';

const fixturePath = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Text layers exactly as the rasterizer hands them to OCR (page-image pixels at 144 DPI). */
async function textLayers(pdf: string): Promise<PageText[]> {
  const out: PageText[] = [];
  const opts = { dpi: 144, maxLongSide: 4000, maxInputPixels: 100e6, maxPages: 100, openTimeoutMs: 60_000, pageTimeoutMs: 60_000 };
  const renderers = createRenderers({ size: 1, memoryMb: 2048 });
  try {
    for await (const page of renderPages(renderers, { path: fixturePath(pdf) }, 'application/pdf', opts)) {
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

let doc10: PageText[];
let cjk: PageText;
before(async () => {
  doc10 = await textLayers('doc10.pdf');
  [cjk] = await textLayers('cjk_nonembedded.pdf');
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
  const out = textLayerToOutput(page([['Bold heading text', 100, 100], ['Bold heading text', 100.5, 100.3]]));
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
