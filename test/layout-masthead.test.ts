// A masthead band over the columns (layoutPage): a few lines at the top of the page on both sides
// of the gutter, parted from the columns by a wide gap (a rule). Read as
// ../shared/samples/real/README.md says: the running header and titles first, left to right,
// then the body column by column.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BBox } from '../shared/bus/messages.ts';
import { layoutPage, type LayoutLine } from '../services/ocr/layout.ts';

const line = (text: string, x1: number, y1: number, x2: number, h = 20): LayoutLine => ({ text, bbox: [x1, y1, x2, y1 + h] as BBox });

/** A column of n body lines tagged `tag`, 28 px apart. */
function column(tag: string, x1: number, x2: number, y: number, n: number): LayoutLine[] {
  return Array.from({ length: n }, (_, i) => line(`${tag} line ${i} of running body text`, x1, y + i * 28, x2));
}

const order = (md: string, tags: string[]) => tags.map((t) => md.indexOf(t));
const ascending = (xs: number[]) => xs.every((x, i) => x >= 0 && (i === 0 || x > xs[i - 1]));

describe('a masthead band over the columns', () => {
  it('reads a title at the left and issue data at the right before the three columns under them', () => {
    // A Federal Register first page: "Proposed Rules" over the first column, the data over the third.
    const lines = [
      line('Proposed Rules', 60, 60, 320, 36),
      line('Federal Register', 1000, 64, 1160),
      line('Vol. 85, No. 152', 1000, 94, 1170),
      line('Thursday, August 6, 2020', 1000, 124, 1260),
      ...column('one', 60, 470, 196, 30),
      ...column('two', 530, 940, 196, 30),
      ...column('three', 1000, 1410, 196, 30),
    ];
    const { markdown } = layoutPage(lines, { joinGap: -Infinity });
    assert.ok(
      ascending(
        order(markdown, [
          'Proposed Rules',
          'Federal Register',
          'Vol. 85',
          'Thursday',
          'one line 0',
          'one line 29',
          'two line 0',
          'three line 0',
          'three line 29',
        ]),
      ),
      markdown,
    );
  });

  it('reads an agency block beside a notice number with them, before the columns', () => {
    const lines = [
      line('Notice 1036', 60, 70, 260, 28),
      line('(Rev. December 2010)', 60, 104, 260, 16),
      line('Department of the Treasury', 900, 60, 1300, 26),
      line('Internal Revenue Service', 900, 92, 1290, 26),
      ...column('left', 60, 640, 190, 36),
      ...column('right', 760, 1340, 190, 36),
    ];
    const { markdown } = layoutPage(lines, { joinGap: -Infinity });
    assert.ok(
      ascending(
        order(markdown, [
          'Notice 1036',
          'Rev. December',
          'Department of the Treasury',
          'Internal Revenue',
          'left line 0',
          'left line 35',
          'right line 0',
          'right line 35',
        ]),
      ),
      markdown,
    );
  });

  it('still reads columns whole when each opens with a heading set a normal gap above its text', () => {
    const lines = [
      line('Background', 60, 60, 260, 24),
      ...column('left', 60, 640, 96, 36),
      line('Discussion', 760, 60, 960, 24),
      ...column('right', 760, 1340, 96, 36),
    ];
    const { markdown } = layoutPage(lines, { joinGap: -Infinity });
    assert.ok(ascending(order(markdown, ['Background', 'left line 0', 'left line 35', 'Discussion', 'right line 0', 'right line 35'])), markdown);
  });
});
