import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Block, DocumentResult } from '../shared/bus/index.ts';
import { estimateLines, pageRegions, textWidth } from '../services/ingest/formats/page-words.ts';

type Page = DocumentResult['pages'][number];
const page = (blocks: Block[]): Page => ({ page: 1, status: 'done', width: 1000, height: 1400, markdown: '', blocks });
const inside = (a: number[], b: number[]) => a[0] >= b[0] - 1e-6 && a[1] >= b[1] - 1e-6 && a[2] <= b[2] + 1e-6 && a[3] <= b[3] + 1e-6;

describe('lines and words for the outputs that place text (PDF, hOCR, ALTO)', () => {
  it("an engine's line boxes are kept; its words follow each other along the line, inside it, widths in proportion to their letters", () => {
    const [region] = pageRegions(
      page([
        {
          type: 'text',
          bbox: [90, 90, 700, 160],
          text: 'x',
          confidence: 0.5,
          lines: [{ text: 'Hi  wonderful\tworld', bbox: [100, 100, 600, 140], confidence: 0.9 }],
        },
      ]),
    );
    const [l] = region.lines;
    assert.deepEqual(l.bbox, [100, 100, 600, 140]);
    assert.deepEqual(
      l.words.map((w) => w.text),
      ['Hi', 'wonderful', 'world'],
    );
    for (const [i, w] of l.words.entries()) {
      assert.ok(inside(w.bbox, l.bbox));
      assert.equal(w.confidence, 0.9);
      if (i > 0) assert.ok(w.bbox[0] > l.words[i - 1].bbox[2], 'a gap between words');
    }
    const width = (i: number) => l.words[i].bbox[2] - l.words[i].bbox[0];
    assert.ok(Math.abs(width(1) / width(0) - textWidth('wonderful') / textWidth('Hi')) < 0.01, 'boxes are rounded to 0.01 px');
  });

  it("a block without lines is wrapped into as many lines as its box holds, balanced, in its text's order", () => {
    const text = Array.from({ length: 12 }, (_, i) => `sentence number ${i} of a paragraph read by a vision model.`).join(' ');
    // 1000 px wide, 300 px tall: about 9 lines of text at this length.
    const lines = estimateLines({ type: 'text', bbox: [0, 0, 1000, 300], text });
    assert.ok(lines.length >= 7 && lines.length <= 11, `${lines.length} lines`);
    assert.equal(lines.flatMap((l) => l.words.map((w) => w.text)).join(' '), text);
    for (const [i, l] of lines.entries()) {
      assert.ok(inside(l.bbox, [0, 0, 1000, 300]));
      assert.ok(l.estimated);
      if (i > 0) assert.ok(l.bbox[1] >= lines[i - 1].bbox[3] - 1e-6, 'lines stack down the box');
    }
    // A one-line title stays one line.
    assert.equal(estimateLines({ type: 'title', bbox: [0, 0, 600, 40], text: 'Quarterly Operations Report' }).length, 1);
  });

  it('CJK text without spaces wraps between characters; table rows keep their rows, cells as words', () => {
    const cjk = '中文的句子很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长';
    const lines = estimateLines({ type: 'text', bbox: [0, 0, 500, 120], text: cjk });
    assert.ok(lines.length >= 2);
    assert.equal(lines.map((l) => l.words.map((w) => w.text).join('')).join(''), cjk);
    const table = estimateLines({ type: 'table', bbox: [0, 0, 800, 100], text: '| Region | Revenue |\n|---|---|\n| Europe | 987,650 |' });
    assert.deepEqual(
      table.map((l) => l.words.map((w) => w.text)),
      [
        ['Region', 'Revenue'],
        ['Europe', '987,650'],
      ],
    );
    const tsv = estimateLines({ type: 'table', bbox: [0, 0, 800, 100], text: 'a\tb\n1\t2' });
    assert.deepEqual(
      tsv.map((l) => l.words.map((w) => w.text)),
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    );
  });

  it('blocks are read in their reading order; figures carry no text; empty blocks no lines', () => {
    const regions = pageRegions(
      page([
        { type: 'text', bbox: [0, 500, 500, 540], text: 'second', order: 1 },
        { type: 'image', bbox: [0, 100, 500, 400], text: '![](images/1_0.jpg)', order: 2 },
        { type: 'text', bbox: [0, 0, 500, 40], text: 'first', order: 0 },
        { type: 'text', bbox: [0, 600, 500, 640], text: '   ', order: 3 },
      ]),
    );
    assert.deepEqual(
      regions.map((r) => [r.kind, r.lines.map((l) => l.words.map((w) => w.text).join(' ')).join('|')]),
      [
        ['text', 'first'],
        ['text', 'second'],
        ['image', ''],
        ['text', ''],
      ],
    );
  });
});
