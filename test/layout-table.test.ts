import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BBox } from '../shared/messages.ts';
import { layoutPage, type LayoutLine } from '../services/ocr/layout.ts';

const line = (text: string, x1: number, y1: number, x2: number, h = 20): LayoutLine => ({ text, bbox: [x1, y1, x2, y1 + h] as BBox });

/** Lines of running prose, 24 px apart, in a column from x to x + 400. */
function column(x: number, top: number, n: number, tag: string, step = 24): LayoutLine[] {
  return Array.from({ length: n }, (_, i) => line(`${tag} prose line ${i} runs on across the column width here`, x, top + i * step, x + 400));
}

/** A table's rows as OCR or a text layer gives them: one piece per cell. */
function tableRows(rows: string[][], xs: number[], top: number, step = 22, h = 16): LayoutLine[] {
  return rows.flatMap((cells, r) => cells.map((c, k) => line(c, xs[k], top + r * step, xs[k] + Math.max(20, c.length * 8), h)));
}

const pipeRows = (md: string) => md.split('\n').filter((l) => l.startsWith('|') && !l.startsWith('| ---'));

describe('tables beside text columns', () => {
  it('a table column beside a text column is a table of its own, and the prose stays prose', () => {
    // The table's rows (22 px) and the prose's lines (24 px) share heights, so rows built across
    // the page pair a table row with a prose line: the text column must not become a table column.
    const states = ['Ohio', 'Texas', 'Florida', 'Vermont', 'Iowa', 'Maine', 'Utah', 'Idaho'];
    const lines = [
      ...tableRows(
        [['State', 'No.', 'Rate'], ...states.map((s, i) => [s, `${1000 + i * 37}`, `${(120.5 - i).toFixed(1)}`])],
        [60, 200, 300],
        100,
      ),
      ...column(450, 96, 12, 'right'),
    ];
    const { markdown, blocks } = layoutPage(lines);
    const tables = blocks.filter((b) => b.type === 'table');
    assert.equal(tables.length, 1, markdown);
    assert.ok(tables[0].bbox[2] < 450, `the table stops before the text column: ${tables[0].bbox}`);
    assert.ok(!tables[0].text.includes('prose'), tables[0].text);
    assert.deepEqual(pipeRows(tables[0].text)[0], '| State | No. | Rate |');
    assert.equal(pipeRows(tables[0].text).length, 9);
    const text = blocks.filter((b) => b.type === 'text').map((b) => b.text).join(' ');
    assert.ok(text.includes('right prose line 0 runs on') && text.includes('right prose line 11 runs on'), markdown);
    assert.ok(markdown.indexOf('Idaho') < markdown.indexOf('right prose line 0'), 'the table is read before the column beside it');
  });

  it('two columns of prose on shared baselines are never a table', () => {
    const lines = [...column(60, 100, 10, 'left'), ...column(520, 100, 10, 'right')];
    const { markdown, blocks } = layoutPage(lines);
    assert.ok(!markdown.includes('|'), markdown);
    assert.ok(blocks.every((b) => b.type !== 'table'));
  });
});
