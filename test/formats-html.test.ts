import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Block, DocumentResult } from '../shared/bus/index.ts';
import { renderHtml } from '../services/ingest/formats/html.ts';
import { parseDeepSeekOutput } from '../services/ocr/engines/vllm/deepseek.ts';

const golden = (name: string, page: number) =>
  parseDeepSeekOutput(readFileSync(path.join(import.meta.dirname, 'deepseek-golden', `${name}.txt`), 'utf8'), 1000, 1400, { page });

function doc(pages: DocumentResult['pages']): DocumentResult {
  return { v: 1, jobId: 'job-1', source: { name: 'report.pdf', mediaType: 'application/pdf', bytes: 1, sha256: '0' }, pages };
}
const page = (n: number, p: { markdown: string; blocks: Block[] }): DocumentResult['pages'][number] => ({
  page: n,
  status: 'done',
  engine: 'vllm',
  width: 1000,
  height: 1400,
  ...p,
});

test('one document: a section per page with an anchor, headings, tables as tables, figures linked to their crops', () => {
  const html = renderHtml(doc([page(1, golden('table-then-caption', 1)), page(2, golden('chinese-tables-latex', 2))]));
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<section class="page" id="page-1" data-page="1" data-width="1000" data-height="1400">/);
  assert.match(html, /<section class="page" id="page-2"/);
  assert.match(html, /<a href="#page-2">Page 2<\/a>/);
  assert.match(html, /<h2 data-bbox="80,280,601,336" data-order="0">3. Results<\/h2>/);
  assert.match(html, /<table data-bbox="80,420,921,729" data-order="1"><tr><td rowspan="2">Model<\/td><td colspan="2">Accuracy \(%\)<\/td><\/tr>/);
  assert.match(html, /<p class="caption" data-bbox="80,367,921,409" data-order="2">Table 2: Accuracy by model and split<\/p>/);
  assert.match(
    html,
    /<figure data-bbox="150,785,851,1205" data-order="5"><a href="images\/2_0.jpg"><img src="images\/2_0.jpg" alt="图 3-2 卡诺循环示意图"><\/a><figcaption[^>]*>图 3-2 卡诺循环示意图<\/figcaption><\/figure>/,
  );
  assert.match(html, /<h1 data-bbox="120,53,881,112" data-order="0">第三章 热力学基础<\/h1>/);
});

test('formulas stay LaTeX with the delimiters MathJax and KaTeX look for', () => {
  const html = renderHtml(doc([page(1, golden('chinese-tables-latex', 1))]));
  assert.ok(html.includes('理想气体满足状态方程 \\(pV = nRT\\)'));
  assert.ok(html.includes('<div class="math" data-bbox="300,266,701,336" data-order="2">\\[ \\Delta U := Q - W \\]</div>'));
  const bare = renderHtml(doc([page(1, { markdown: '', blocks: [{ type: 'equation', bbox: [0, 0, 1, 1], text: 'E = mc^2' }] })]));
  assert.ok(bare.includes('>\\[ E = mc^2 \\]</div>'));
});

test('sanitised: text, table cells and attributes from a page can never become markup', () => {
  const hostile: Block[] = [
    { type: 'text', bbox: [0, 0, 10, 10], text: '<script>alert(1)</script> & "quotes"' },
    {
      type: 'table',
      bbox: [0, 10, 10, 20],
      text: 'x',
      html: '<table onload="x()"><tr><td colspan="2" onclick="evil()"><img src=x onerror=alert(1)>cell<b>bold</b></td></tr><tr><td><script>bad()</script></td><td>&lt;i&gt;</td></tr></table>',
    },
    { type: 'image', bbox: [0, 20, 10, 30], text: '![](javascript:alert(1))' },
  ];
  const html = renderHtml(doc([page(1, { markdown: '', blocks: hostile })]));
  const body = html.slice(html.indexOf('<body>'));
  assert.doesNotMatch(body, /<script|onerror|onclick|onload|javascript:|<img src=x|<b>/i);
  assert.ok(body.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;'));
  assert.ok(body.includes('<td colspan="2">cellbold</td>'));
  assert.ok(body.includes('<td>&lt;i&gt;</td>'));
});

test('pages without blocks (plain text, text layer) and failed pages', () => {
  const html = renderHtml(
    doc([
      page(1, { markdown: '# Heading\n\nFirst line\nsecond line\n\n| a | b |\n| --- | --- |\n| 1 | 2 |', blocks: [] }),
      { page: 2, status: 'failed', markdown: '', blocks: [], error: { code: 'FOLIO_ENGINE_TRUNCATED', message: 'x' } },
    ]),
  );
  assert.match(html, /<h1>Heading<\/h1>/);
  assert.match(html, /<p>First line<br>\nsecond line<\/p>/);
  assert.match(html, /<table><tr><th>a<\/th><th>b<\/th><\/tr><tr><td>1<\/td><td>2<\/td><\/tr><\/table>/);
  assert.match(html, /<section class="page" id="page-2" data-page="2">\n<p class="failed">Page 2 failed: FOLIO_ENGINE_TRUNCATED<\/p>/);
});
