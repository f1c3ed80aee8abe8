// Reading order, page furniture and text clean-up in layoutPage: pages laid out as printed
// matter is, read the way a reader takes them (the conventions of ../shared/samples/real/README.md).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BBox } from '../shared/bus/index.ts';
import { layoutPage, type LayoutLine } from '../services/ocr/layout.ts';
import { composeAccents, joinHyphenated, joinLineEndHyphens } from '../services/ocr/text-cleanup.ts';

const line = (text: string, x1: number, y1: number, x2: number, h = 20): LayoutLine => ({ text, bbox: [x1, y1, x2, y1 + h] as BBox });

/** A column of n prose lines tagged `tag`, 28 px apart. */
function column(tag: string, x1: number, x2: number, y: number, n: number, h = 20): LayoutLine[] {
  return Array.from({ length: n }, (_, i) => line(`${tag} line ${i} of some ordinary running prose text here`, x1, y + i * 28, x2, h));
}

const order = (md: string, tags: string[]) => tags.map((t) => md.indexOf(t));
const ascending = (xs: number[]) => xs.every((x, i) => x >= 0 && (i === 0 || x > xs[i - 1]));

describe('reading order', () => {
  it('reads a 2×2 grid of sections row by row: 1, 2, 3, 4', () => {
    const lines: LayoutLine[] = [];
    for (const [k, x, y] of [
      [1, 60, 100],
      [2, 560, 100],
      [3, 60, 420],
      [4, 560, 420],
    ] as const) {
      lines.push(line(`SECTION ${k}`, x, y, x + 200, 30), ...column(`s${k}`, x, x + 410, y + 50, 6));
    }
    const { markdown } = layoutPage(lines);
    assert.ok(ascending(order(markdown, ['SECTION 1', 's1 line 5', 'SECTION 2', 's2 line 5', 'SECTION 3', 's3 line 0', 'SECTION 4'])), markdown);
  });

  it('still reads running columns whole when paragraph breaks line up across them', () => {
    const lines = [
      ...column('left', 60, 470, 100, 6),
      ...column('left-b', 60, 470, 300, 6),
      ...column('right', 530, 940, 100, 6),
      ...column('right-b', 530, 940, 300, 6),
    ];
    const { markdown } = layoutPage(lines);
    assert.ok(ascending(order(markdown, ['left line 0', 'left-b line 5', 'right line 0', 'right-b line 5'])), markdown);
  });

  it('reads a margin sidebar after the body text', () => {
    const lines = [
      line('By Jane Doe', 40, 120, 200, 16),
      line('Jane Doe is an economist', 40, 150, 210, 16),
      line('in the Office of Prices.', 40, 172, 210, 16),
      ...column('body-a', 260, 620, 100, 12),
      ...column('body-b', 660, 1020, 100, 12),
    ];
    const { markdown, blocks } = layoutPage(lines);
    assert.ok(ascending(order(markdown, ['body-a line 0', 'body-a line 11', 'body-b line 0', 'body-b line 11', 'By Jane Doe'])), markdown);
    assert.ok(blocks.some((b) => b.text.startsWith('By Jane Doe')));
  });

  it('reads the footnotes at the foot of columns after all the column text, and types them', () => {
    const lines = [
      ...column('one', 60, 470, 100, 10),
      line('1 A footnote to the first column in small type.', 60, 420, 470, 14),
      line('2 Another footnote, also small.', 60, 438, 400, 14),
      ...column('two', 530, 940, 100, 12),
    ];
    const { markdown, blocks } = layoutPage(lines);
    assert.ok(ascending(order(markdown, ['one line 9', 'two line 0', 'two line 11', '1 A footnote', '2 Another'])), markdown);
    assert.equal(blocks.find((b) => b.text.startsWith('1 A footnote'))?.type, 'footnote');
  });

  it('does not take a last line of short letters for a footnote (an OCR box of x-height letters is short)', () => {
    const lines = [...column('one', 60, 470, 100, 10), line('a wave over sea', 60, 400, 200, 14), ...column('two', 530, 940, 100, 12)];
    const { markdown } = layoutPage(lines);
    assert.ok(ascending(order(markdown, ['one line 9', 'a wave over sea', 'two line 0'])), markdown);
  });

  it('reads a full-width block where it sits, between two bands of columns', () => {
    const lines = [
      ...column('top-l', 60, 470, 100, 5),
      ...column('top-r', 530, 940, 100, 5),
      line('A full-width passage that runs across both of the columns above and below it on the page.', 60, 270, 940),
      ...column('low-l', 60, 470, 330, 5),
      ...column('low-r', 530, 940, 330, 5),
    ];
    const { markdown } = layoutPage(lines);
    assert.ok(ascending(order(markdown, ['top-l line 4', 'top-r line 0', 'A full-width', 'low-l line 0', 'low-r line 0'])), markdown);
  });
});

describe('page furniture', () => {
  const page = () => [
    line('Federal Register / Vol. 85, No. 152 / Thursday, August 6, 2020', 60, 20, 700, 16),
    line('47712', 880, 20, 940, 16),
    ...column('left', 60, 470, 100, 20),
    ...column('right', 530, 940, 100, 20),
    line('12', 490, 700, 510, 16),
  ];

  it('types the running header and the page number and keeps them in the page Markdown, header first and number last', () => {
    const { markdown, blocks } = layoutPage(page());
    assert.deepEqual(
      blocks.filter((b) => b.type.startsWith('page_')).map((b) => [b.type, b.text]),
      [
        ['page_header', 'Federal Register / Vol. 85, No. 152 / Thursday, August 6, 2020'],
        ['page_number', '47712'],
        ['page_number', '12'],
      ],
    );
    assert.ok(markdown.startsWith('Federal Register / Vol. 85'), markdown);
    assert.ok(markdown.endsWith('\n\n12'), markdown);
  });

  it('leaves furniture out of the Markdown with furniture: drop, still typed in the blocks', () => {
    const { markdown, blocks } = layoutPage(page(), { furniture: 'drop' });
    assert.ok(!markdown.includes('Federal Register') && !markdown.includes('47712') && !/\b12$/.test(markdown), markdown);
    assert.ok(markdown.startsWith('left line 0'), markdown);
    assert.equal(blocks.filter((b) => b.type.startsWith('page_')).length, 3);
  });

  it('types a "Downloaded from" line and a note set sideways in the margin', () => {
    const lines = [
      ...column('body', 100, 700, 100, 20),
      { text: 'arXiv:2101.00001v2 [cs.CL] 4 Jan 2021', bbox: [20, 150, 44, 700] as BBox },
      line('Downloaded from https://example.org on 5 May 2024', 100, 680, 600, 14),
    ];
    const { blocks, markdown } = layoutPage(lines, { furniture: 'drop' });
    assert.equal(blocks.find((b) => b.text.startsWith('arXiv'))?.type, 'margin_note');
    assert.equal(blocks.find((b) => b.text.startsWith('Downloaded'))?.type, 'page_footer');
    assert.ok(!markdown.includes('arXiv') && !markdown.includes('Downloaded'), markdown);
  });

  it('does not take a title at the top of the page for a running header', () => {
    const { blocks } = layoutPage([line('Annual Report', 50, 20, 500, 44), ...column('body', 50, 900, 100, 6)]);
    assert.equal(blocks[0].type, 'title');
  });
});

describe('text clean-up', () => {
  it('joins line-end hyphens inside words and keeps real hyphens', () => {
    const lines = [
      line('The data were lost irretrie-', 60, 100, 340),
      line('vably when the organi-', 60, 128, 280),
      line('sations merged; a well-', 60, 156, 290),
      line('known self-', 60, 184, 190),
      line('employed writer said so.', 60, 212, 350),
    ];
    assert.equal(layoutPage(lines).markdown, 'The data were lost irretrievably when the organisations merged; a well-known self-employed writer said so.');
  });

  it('lets the document settle a hyphen the word list cannot', () => {
    const vocab = { words: new Set<string>(), hyphenated: new Set(['co-author']) };
    assert.equal(joinHyphenated('our co-', 'author', vocab), 'our co-author');
    assert.equal(joinHyphenated('our co-', 'author'), 'our coauthor');
    assert.equal(joinHyphenated('COVID-', 'related'), 'COVID-related');
    assert.equal(joinHyphenated('pages 10-', '12'), null);
  });

  it('keeps a line-end hyphen before a capital, with no space put in (non-Hispanic, Tejada-Vera)', () => {
    assert.equal(joinHyphenated('than non-', 'Hispanics.'), 'than non-Hispanics.');
    assert.equal(joinHyphenated('Kochanek KD, Tejada-', 'Vera B.'), 'Kochanek KD, Tejada-Vera B.');
    assert.equal(joinLineEndHyphens('a Self-\nLocking Nut'), 'a Self-Locking\nNut');
  });

  it('joins hyphens in plain text the same way (for scoring against truths that keep them)', () => {
    assert.equal(
      joinLineEndHyphens('an impor-\ntant factor in disabil-\nity and a well-\nknown one'),
      'an important\nfactor in disability\nand a well-known\none',
    );
  });

  it('composes accents on both paths: combining marks and spacing accents beside their letter', () => {
    assert.equal(composeAccents('J´an Min´aˇc'), 'Ján Mináč');
    assert.equal(composeAccents('Ko¨nig Fran¸cois Jose\u0301'), 'König François José');
    assert.equal(composeAccents('it´s 5´ long'), 'it´s 5´ long'); // nothing to compose with: left as printed
    const { markdown } = layoutPage([line('J´an', 60, 100, 100), line('Min´aˇc wrote it.', 104, 100, 300)], { joinGap: 0.4 });
    assert.equal(markdown, 'Ján Mináč wrote it.');
  });
});
