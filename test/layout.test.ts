import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BBox } from '../shared/bus/index.ts';
import { layoutPage, type LayoutLine } from '../services/ocr/layout.ts';
import { cer, stripMarkdown } from './helpers/cer.ts';

const line = (text: string, x1: number, y1: number, x2: number, h = 20): LayoutLine => ({ text, bbox: [x1, y1, x2, y1 + h] as BBox });
const prose = (n: number, tag: string) => `${tag} line ${n} of some ordinary running prose text`;

test('two columns are read left column first, under a full-width title', () => {
  const lines: LayoutLine[] = [line('A Two Column Article Title', 100, 40, 900, 40)];
  for (let i = 0; i < 8; i++) {
    // Same baselines in both columns: the grid a typesetter produces, which must not become a table.
    lines.push(line(prose(i, 'left'), 60, 120 + i * 28, 470), line(prose(i, 'right'), 530, 120 + i * 28, 940));
  }
  const { markdown, blocks } = layoutPage(lines);
  assert.ok(!markdown.includes('|'), 'prose columns are not a table');
  assert.ok(markdown.startsWith('# A Two Column Article Title'));
  assert.ok(markdown.indexOf('left line 7') < markdown.indexOf('right line 0'), markdown);
  assert.deepEqual(
    blocks.map((b) => b.type),
    ['title', 'text', 'text'],
  );
  assert.deepEqual(blocks[1].bbox, [60, 120, 470, 336]);
});

test('a tall line becomes a heading, a taller one a title', () => {
  const { markdown, blocks } = layoutPage([
    line('Annual Report', 50, 20, 500, 44),
    line('Summary of results', 50, 90, 400, 27),
    line('Revenue grew in every region this year and costs stayed flat.', 50, 130, 900),
    line('The board proposes a higher dividend for the coming year.', 50, 156, 880),
  ]);
  assert.equal(
    markdown,
    '# Annual Report\n\n## Summary of results\n\nRevenue grew in every region this year and costs stayed flat. The board proposes a higher dividend for the coming year.',
  );
  assert.deepEqual(
    blocks.map((b) => b.type),
    ['title', 'sub_title', 'text'],
  );
});

test('an aligned grid becomes a pipe table between paragraphs', () => {
  const rows = [
    ['Region', 'Revenue', 'Orders'],
    ['North', '1,245', '8,412'],
    ['Europe', '987', '6,903'],
    ['Asia Pacific', '1,532', '10,257'],
  ];
  const lines: LayoutLine[] = [line('Sales by region for the third quarter of the year.', 50, 20, 700)];
  rows.forEach((r, i) => {
    const y = 70 + i * 30;
    // Cell widths vary and numbers are right-aligned, as in real tables.
    lines.push(line(r[0], 60, y, 60 + r[0].length * 10), line(r[1], 300 - r[1].length * 10, y, 300), line(r[2], 450 - r[2].length * 10, y, 450));
  });
  lines.push(line('Figures are unaudited.', 50, 200, 300));
  const { markdown, blocks } = layoutPage(lines);
  const table = [
    '| Region | Revenue | Orders |',
    '| --- | --- | --- |',
    '| North | 1,245 | 8,412 |',
    '| Europe | 987 | 6,903 |',
    '| Asia Pacific | 1,532 | 10,257 |',
  ].join('\n');
  assert.equal(markdown, `Sales by region for the third quarter of the year.\n\n${table}\n\nFigures are unaudited.`);
  assert.deepEqual(
    blocks.map((b) => b.type),
    ['text', 'table', 'text'],
  );
  assert.equal(blocks[1].text, table);
  assert.deepEqual(blocks[1].bbox, [60, 70, 450, 180]);
});

test('a cell containing a pipe is escaped, and stripMarkdown reads the table back as text', () => {
  const lines = [line('a|b', 50, 10, 90), line('c', 200, 10, 220), line('d', 50, 40, 60), line('e', 200, 40, 220)];
  const { markdown } = layoutPage(lines);
  assert.ok(markdown.includes('| a\\|b | c |'), markdown);
  assert.equal(stripMarkdown(markdown).replace(/\s+/g, ' '), 'a|b c d e');
});

test('leading and line gaps split paragraphs; pieces of one line are joined', () => {
  const { markdown } = layoutPage(
    [
      line('First paragraph starts', 50, 100, 400),
      line('here', 405, 100, 450), // a text-layer run split mid-line
      line('and wraps onto a second line.', 50, 125, 500),
      line('Second paragraph after a blank line.', 50, 190, 600),
    ],
    { joinGap: 0.4 },
  );
  assert.equal(markdown, 'First paragraph starts here and wraps onto a second line.\n\nSecond paragraph after a blank line.');
});

test('CJK pieces join without spaces; separate form fields keep one', () => {
  const { markdown } = layoutPage(
    [line('发票代码', 50, 10, 130), line('：1440', 132, 10, 200), line('增值税', 500, 10, 560), line('电子', 50, 40, 90), line('发票', 92, 40, 130)],
    { joinGap: 0.4 },
  );
  assert.equal(markdown, '发票代码：1440 增值税\n\n电子发票');
});

test('plain mode drops heading marks and table pipes', () => {
  const lines = [line('Big Title', 50, 10, 300, 40), line('k1', 50, 80, 70), line('v1', 200, 80, 220), line('k2', 50, 110, 70), line('v2', 200, 110, 220)];
  assert.equal(layoutPage(lines, { plain: true }).markdown, 'Big Title\n\nk1 v1\nk2 v2');
});

test('confidence is averaged per block by characters; no lines, no output', () => {
  const { blocks } = layoutPage([
    { text: 'aaaa', bbox: [0, 0, 40, 20], confidence: 1 },
    { text: 'bbbbbbbbbbbb', bbox: [0, 24, 120, 44], confidence: 0.5 },
  ]);
  assert.equal(blocks.length, 1);
  assert.equal(blocks[0].confidence, 0.625);
  assert.deepEqual(layoutPage([{ text: '  ', bbox: [0, 0, 1, 1] }]), { markdown: '', blocks: [] });
});

test('cer ignores whitespace and counts edits against the reference', () => {
  assert.equal(cer('a b\nc', 'abc'), 0);
  assert.equal(cer('abd', 'abcd'), 0.25);
  assert.equal(cer('价税合计', '价税合计'), 0);
  assert.equal(stripMarkdown('# T\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n---\n\n**x**'), 'T\n\na b\n\n1 2\n\nx');
});
