// A side column set in smaller type than the body beside it (an author note, a pull quote,
// marginalia) is a sidebar, read after the body, however its lines happen to line up with the
// body's rows. OCR boxes of 8 pt and 10 pt lines are about as tall: the smaller type shows in
// the pitch, more characters to the same measure.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BBox } from '../shared/bus/messages.ts';
import { layoutPage, type LayoutLine } from '../services/ocr/layout.ts';

const line = (text: string, x1: number, y1: number, x2: number, h = 20): LayoutLine => ({ text, bbox: [x1, y1, x2, y1 + h] as BBox });

/** n lines tagged `tag`, 28 px apart, each `text` long across the measure x1..x2. */
function column(tag: string, text: string, x1: number, x2: number, y: number, n: number): LayoutLine[] {
  return Array.from({ length: n }, (_, i) => line(`${tag} ${i} ${text}`, x1, y + i * 28, x2));
}

const order = (md: string, tags: string[]) => tags.map((t) => md.indexOf(t));
const ascending = (xs: number[]) => xs.every((x, i) => x >= 0 && (i === 0 || x > xs[i - 1]));

describe('sidebars told by their type', () => {
  it('reads a side column in smaller type after the body even when every one of its lines lines up with a body row', () => {
    // Body: about 45 characters to 400 px. Note: about 35 characters to 200 px, some 35% closer set,
    // in boxes as tall as the body's and on the body's own 28 px rows.
    const lines = [
      ...column('note', 'is an economist in the office', 40, 240, 100, 8),
      ...column('body-a', 'of some ordinary running prose text', 300, 700, 100, 16),
      ...column('body-b', 'of some ordinary running prose text', 760, 1160, 100, 16),
    ];
    const { markdown } = layoutPage(lines, { joinGap: -Infinity });
    assert.ok(ascending(order(markdown, ['body-a 0 ', 'body-a 15 ', 'body-b 0 ', 'body-b 15 ', 'note 0 ', 'note 7 '])), markdown);
  });

  it('does not take a side column in the body type for a sidebar when its lines pair up with the body rows', () => {
    const lines = [
      ...column('side', 'of some prose', 40, 240, 100, 8),
      ...column('body-a', 'of some ordinary running prose text', 300, 700, 100, 16),
      ...column('body-b', 'of some ordinary running prose text', 760, 1160, 100, 16),
    ];
    const { markdown } = layoutPage(lines, { joinGap: -Infinity });
    assert.ok(markdown.indexOf('side 0 ') < markdown.indexOf('body-a 15 '), markdown);
  });
});
