// The olmOCR-Bench-style unit tests written for the real pages (bench/real-pages-tests.json) are
// right about the pages: each passes on the page's own truth text (its TAB-separated table rows
// as a pipe table), so a failure in `npm run bench -- realPages` is the reader's, not the test's.
// Absent tests name text that is on the page (page furniture) and pass once it is left out.
// Pages come from ../shared/samples/real when present, else the ones pinned in test/fixtures/real.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeText, runTest, type PageTest } from '../bench/olmocr-rules.ts';
import { bagOfWords, kindsOf, readManifest, realPageTests } from '../bench/real-pages.ts';
import { realPages } from '../bench/real-eval.ts';

/** The truth as Markdown: runs of TAB-separated lines become pipe tables, the first line their header. */
function truthMarkdown(truth: string): string {
  const out: string[] = [];
  let table: string[] = [];
  const flush = () => {
    if (table.length) {
      const rows = table.map((l) => `| ${l.split('\t').join(' | ')} |`);
      out.push('', rows[0], `|${' --- |'.repeat(table[0].split('\t').length)}`, ...rows.slice(1), '');
    }
    table = [];
  };
  for (const line of truth.split('\n')) {
    if (line.includes('\t')) table.push(line);
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out.join('\n');
}

const joinHyphens = (s: string) => s.replace(/(\p{Ll})-\n(\p{Ll})/gu, '$1$2');

describe('real-page unit tests against the truth', () => {
  const tests = realPageTests() as Array<PageTest & { joined_hyphens?: boolean }>;
  const pages = new Map(realPages().map((p) => [p.name, p.truth]));

  it('every test names a page of the set, has a unique id and a known type', () => {
    const ids = new Set<string>();
    for (const t of tests) {
      assert.ok(!ids.has(t.id), `duplicate id ${t.id}`);
      ids.add(t.id);
      assert.ok(['present', 'absent', 'order', 'table'].includes(t.type), t.id);
    }
    assert.ok(tests.length >= 150, `${tests.length} tests`);
  });

  for (const t of tests) {
    const truth = pages.get(t.page);
    if (truth === undefined) continue;
    it(`${t.id} passes on the truth${t.note ? ` (${t.note})` : ''}`, () => {
      const md = truthMarkdown(t.joined_hyphens ? joinHyphens(truth) : truth);
      if (t.type === 'absent') {
        assert.ok(!runTest(t, md).passed, `${t.id}: '${t.text}' is not on the page, so the test proves nothing`);
        const without = md
          .split('\n')
          .filter((l) => normalizeText(l).toLowerCase() !== normalizeText(t.text).toLowerCase())
          .join('\n');
        assert.ok(runTest(t, without).passed, `${t.id}: '${t.text}' is also elsewhere on the page`);
        return;
      }
      const v = runTest(t, md);
      assert.ok(v.passed, `${t.id}: ${v.why}`);
    });
  }
});

describe('real-page benchmark figures', () => {
  it('the bag-of-words error counts words missing or extra whatever their order', () => {
    assert.deepEqual(bagOfWords('column two column one', 'column one column two'), { words: 4, bagEdits: 0 });
    assert.deepEqual(bagOfWords('the cat', 'the black cat sat'), { words: 4, bagEdits: 2 });
    assert.deepEqual(bagOfWords('web比ext of', 'webtext of'), { words: 2, bagEdits: 1 });
  });
  it('layout kinds come from the manifest; a degraded copy keeps its source’s kind and is a scan', () => {
    const manifest = readManifest();
    assert.deepEqual(kindsOf('fedreg_p1', manifest), ['multiColumn']);
    assert.deepEqual(kindsOf('mmwr_p62-scan', manifest), ['multiColumn', 'scans']);
    assert.deepEqual(kindsOf('statab_t324', manifest), ['tables']);
    assert.deepEqual(kindsOf('filing_01', manifest), ['singleColumn', 'scans']);
  });
});
