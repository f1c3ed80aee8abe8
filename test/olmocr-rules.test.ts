// The olmOCR-Bench rules as bench/olmocr-rules.ts implements them (the real-page benchmark scores
// the engine and Tesseract with them): fuzzy presence and absence, order by positions, table
// cells beside their neighbours and headings, on Markdown and HTML tables.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  normalizeText,
  partialRatio,
  ratio,
  nearMatchStarts,
  parseMarkdownTables,
  parseHtmlTables,
  runTest,
  scoreTests,
  type PageTest,
} from '../bench/olmocr-rules.ts';

type Spec<T> = T extends unknown ? Omit<T, 'id' | 'page'> : never;
const pass = (t: Spec<PageTest>, md: string) => runTest({ id: 'x', page: 'p', ...t } as PageTest, md).passed;

describe('olmOCR-Bench normalisation', () => {
  it('drops bold and italic marks, folds whitespace, quotes and dashes, composes accents', () => {
    assert.equal(normalizeText('**Bold**  and _it_\n\n“q” – ’s <br>x'), 'Bold and it "q" - \'s x');
    assert.equal(normalizeText('Mina\u0301c\u030c'), 'Mináč'.normalize('NFC'));
    assert.equal(normalizeText('5 \u00b5g'), '5 \u03bcg');
  });
});

describe('rapidfuzz similarities', () => {
  it('ratio is 2·LCS / (|a| + |b|)', () => {
    assert.equal(ratio('this is a test', 'this is a test!'), 28 / 29);
    assert.equal(ratio('', ''), 1);
    assert.equal(ratio('abc', 'xyz'), 0);
  });
  it('partial_ratio is the best window of the longer text as long as the shorter', () => {
    assert.equal(partialRatio('this is a test', 'well, this is a test!'), 1);
    // One letter changed in a 10-letter window: LCS 9 of 10 + 10.
    assert.equal(partialRatio('abcdefghij', 'xx abcdeXghij yy'), 0.9);
    // A window at the text's end may be shorter than the phrase.
    assert.equal(partialRatio('tail end', 'the tail en'), (2 * 7) / (8 + 7));
  });
  it('near matches (Levenshtein ≤ k) are reported by where they start', () => {
    assert.deepEqual(nearMatchStarts('abc', 'xxabcxxabd', 0), [2]);
    const starts = nearMatchStarts('abc', 'xxabcxxabd', 1);
    assert.ok(starts.includes(2) && starts.some((s) => s >= 6), `starts ${starts}`);
  });
});

describe('present and absent', () => {
  const page = 'Federal Register / Vol. 85\n\nThe FAA proposes to **adopt** a new airworthiness directive.';
  it('a phrase is present within max_diffs edits', () => {
    assert.ok(pass({ type: 'present', text: 'The FAA proposes to adopt a new airworthiness directive.' }, page));
    assert.ok(!pass({ type: 'present', text: 'The FAA proposes to adapt a new airworthiness directive.' }, page));
    assert.ok(pass({ type: 'present', text: 'The FAA proposes to adapt a new airworthiness directive.', max_diffs: 1 }, page));
  });
  it('is case-sensitive unless told otherwise', () => {
    assert.ok(!pass({ type: 'present', text: 'the faa proposes' }, page));
    assert.ok(pass({ type: 'present', text: 'the faa proposes', case_sensitive: false }, page));
  });
  it('absent passes only when the phrase is not there (nor within max_diffs of it)', () => {
    assert.ok(!pass({ type: 'absent', text: 'Federal Register / Vol. 85' }, page));
    assert.ok(pass({ type: 'absent', text: 'Federal Register / Vol. 85' }, page.split('\n\n')[1]));
    assert.ok(pass({ type: 'absent', text: 'a long running header that is not on the page' }, 'short'));
  });
  it('first_n and last_n look only at the start or end of the page', () => {
    assert.ok(pass({ type: 'present', text: 'Federal Register', first_n: 30 }, page));
    assert.ok(!pass({ type: 'present', text: 'Federal Register', last_n: 30 }, page));
  });
  it('an empty output fails present instead of matching a space', () => {
    assert.ok(!pass({ type: 'present', text: 'a b' }, '\n'));
  });
});

describe('order', () => {
  const md = 'end of column one.\n\nStart of column two.';
  it('passes when some match of before starts before some match of after', () => {
    assert.ok(pass({ type: 'order', before: 'end of column one.', after: 'Start of column two.' }, md));
    assert.ok(!pass({ type: 'order', before: 'Start of column two.', after: 'end of column one.' }, md));
  });
  it('fails when either phrase is missing, and matches within max_diffs', () => {
    assert.ok(!pass({ type: 'order', before: 'column three', after: 'column two' }, md));
    assert.ok(pass({ type: 'order', before: 'end of colunn one', after: 'Start of column two', max_diffs: 1 }, md));
  });
});

describe('tables', () => {
  const md = ['Some text | not a table', '', '| Region | Revenue (USD) | Orders |', '|---|---|---|', '| North | 1,200 | 34 |', '| South | 980 | 21 |'].join(
    '\n',
  );
  it('parses pipe tables with their first row and column as headings', () => {
    const tables = parseMarkdownTables(md);
    assert.equal(tables.length, 1);
    assert.equal(tables[0].text.get('1,1'), '1,200');
    assert.ok(tables[0].heading.has('0,2') && tables[0].heading.has('2,0') && !tables[0].heading.has('1,1'));
  });
  it('a cell beside its neighbours and under its header passes; merged cells fail', () => {
    assert.ok(pass({ type: 'table', cell: '980', top_heading: 'Revenue (USD)', left_heading: 'South', up: '1,200', right: '21' }, md));
    assert.ok(!pass({ type: 'table', cell: '980', top_heading: 'Orders' }, md));
    const merged = md.replace('| Revenue (USD) | Orders |', '| Revenue (USD) Orders |  |');
    assert.ok(!pass({ type: 'table', cell: '34', top_heading: 'Orders' }, merged));
  });
  it('reads HTML tables with th, thead and spans', () => {
    const html =
      '<table><thead><tr><th>Item</th><th colspan="2">2019</th></tr></thead><tr><td rowspan="2">Wheat</td><td>4</td><td>5</td></tr><tr><td>6</td><td>7</td></tr></table>';
    const [t] = parseHtmlTables(html);
    assert.equal(t.text.get('1,0'), 'Wheat');
    assert.ok(pass({ type: 'table', cell: '7', top_heading: '2019', left_heading: 'Wheat', up: '5' }, html));
    assert.ok(pass({ type: 'table', cell: '6', left: 'Wheat' }, html));
  });
  it('without any table the test fails', () => {
    assert.ok(!pass({ type: 'table', cell: '980' }, 'South 980 21'));
  });
});

describe('scoring a set', () => {
  it('counts passes by type and names the failures', () => {
    const tests: PageTest[] = [
      { id: 'a', page: 'p', type: 'present', text: 'hello' },
      { id: 'b', page: 'p', type: 'absent', text: 'Page 3' },
      { id: 'c', page: 'q', type: 'present', text: 'never read' },
    ];
    const s = scoreTests(tests, { p: 'hello world Page 3' });
    assert.equal(s.total, 2);
    assert.equal(s.passed, 1);
    assert.deepEqual(s.byType, { present: { passed: 1, total: 1 }, absent: { passed: 0, total: 1 } });
    assert.equal(s.failures[0].id, 'b');
  });
});
