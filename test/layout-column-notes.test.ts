// Columns and the notes at their feet as an OCR detector boxes them (layoutPage): boxes padded into
// a narrow gutter, notes in smaller type whose boxes are as tall as the body's, lines of small
// type set so close that their boxes overlap. Read as ../shared/samples/real/README.md says: the
// body column by column, then the notes of those columns.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BBox } from '../shared/bus/messages.ts';
import { layoutPage, type LayoutLine } from '../services/ocr/layout.ts';

const line = (text: string, x1: number, y1: number, x2: number, h = 20): LayoutLine => ({ text, bbox: [x1, y1, x2, y1 + h] as BBox });

/** A column of n body lines tagged `tag`, 28 px apart, about 40 characters to the 410 px measure. */
function column(tag: string, x1: number, x2: number, y: number, n: number, h = 20): LayoutLine[] {
  return Array.from({ length: n }, (_, i) => line(`${tag} line ${i} of running body text`, x1, y + i * 28, x2, h));
}

/** Note lines in smaller type: as tall an OCR box as the body's, but about 55 characters to the same measure. */
function notes(tag: string, x1: number, x2: number, y: number, n: number, h = 20): LayoutLine[] {
  return Array.from({ length: n }, (_, i) => line(`${tag} ${i} note text in smaller type, set closer than the body`, x1, y + i * 24, x2, h));
}

const order = (md: string, tags: string[]) => tags.map((t) => md.indexOf(t));
const ascending = (xs: number[]) => xs.every((x, i) => x >= 0 && (i === 0 || x > xs[i - 1]));

describe('columns and their notes in OCR boxes', () => {
  it('reads notes told by their closer pitch (OCR boxes as tall as the body) after all the column text, typed as footnotes', () => {
    const lines = [
      ...column('one', 60, 470, 100, 12),
      ...notes('n1', 60, 470, 100 + 12 * 28 + 16, 6),
      ...column('two', 530, 940, 100, 9),
      ...notes('n2', 530, 940, 100 + 9 * 28 + 16, 8),
      ...column('three', 1000, 1410, 100, 14),
    ];
    const { markdown, blocks } = layoutPage(lines, { joinGap: -Infinity });
    assert.ok(
      ascending(order(markdown, ['one line 0', 'one line 11', 'two line 0', 'two line 8', 'three line 0', 'three line 13', 'n1 0', 'n1 5', 'n2 0', 'n2 7'])),
      markdown,
    );
    assert.ok(
      blocks.filter((b) => b.type === 'footnote').some((b) => b.text.includes('n1 0')),
      JSON.stringify(blocks.map((b) => b.type)),
    );
  });

  it('does not take the last lines of a column for notes when they are set as the body is', () => {
    const lines = [...column('one', 60, 470, 100, 12), ...column('tail', 60, 470, 100 + 12 * 28 + 16, 4), ...column('two', 530, 940, 100, 16)];
    const { markdown, blocks } = layoutPage(lines, { joinGap: -Infinity });
    assert.ok(ascending(order(markdown, ['one line 11', 'tail line 0', 'tail line 3', 'two line 0'])), markdown);
    assert.ok(!blocks.some((b) => b.type === 'footnote'));
  });

  it('cuts a gutter narrowed to a few pixels by padded boxes when it runs down many lines on both sides', () => {
    // 25 px of paper between the columns, 4 px between their boxes (a fifth of the line height).
    const lines = [...column('left', 60, 476, 100, 20), ...column('right', 480, 896, 100, 20)];
    const { markdown } = layoutPage(lines, { joinGap: -Infinity });
    assert.ok(ascending(order(markdown, ['left line 0', 'left line 19', 'right line 0', 'right line 19'])), markdown);
  });

  it('reads by rows where so narrow a gap runs down only a few lines (word spaces lining up by chance)', () => {
    const lines = [...column('left', 60, 476, 100, 3), ...column('right', 480, 896, 100, 3)];
    const { markdown } = layoutPage(lines, { joinGap: -Infinity });
    assert.ok(ascending(order(markdown, ['left line 0', 'right line 0', 'left line 1', 'right line 1'])), markdown);
  });

  it('reads two lines of one column in order when their boxes overlap, however the rows beside them fall', () => {
    // Small type set close: OCR boxes 30 px tall, 21 px apart. The three columns' baselines step
    // down 7 px each, so a row gathering one line of each reaches the next line of the first.
    // Each note's first line is indented: a row holding two lines of a column reads them by x, the second first.
    const lines = ['a', 'b', 'c'].flatMap((col, c) =>
      [0, 1, 2].map((i) => line(`${col}${i} line of a note in small type set close`, (i === 0 ? 80 : 60) + c * 470, 100 + c * 7 + i * 21, 470 + c * 470, 30)),
    );
    const { markdown } = layoutPage(lines, { joinGap: -Infinity });
    for (const col of ['a', 'b', 'c']) assert.ok(ascending(order(markdown, [`${col}0 line`, `${col}1 line`, `${col}2 line`])), markdown);
  });
});
