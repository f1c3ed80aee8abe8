import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pl from 'nodejs-polars';
import type { Block, DocumentResult } from '../shared/bus/index.ts';
import { parseHtmlTable } from '../shared/document/index.ts';
import { extractTables } from '../services/ingest/formats/tables.ts';
import { exportTable } from '../services/ingest/formats/table-export.ts';
import { parseDeepSeekOutput } from '../services/ocr/engines/vllm/deepseek.ts';

function doc(pages: Array<{ blocks: Block[]; engine?: string }>): DocumentResult {
  return {
    v: 1,
    jobId: 'job-1',
    source: { name: 'x.pdf', mediaType: 'application/pdf', bytes: 1, sha256: '0' },
    pages: pages.map((p, i) => ({ page: i + 1, status: 'done', engine: p.engine ?? 'vllm', width: 1000, height: 1400, markdown: '', blocks: p.blocks })),
  };
}

const golden = (name: string) =>
  parseDeepSeekOutput(readFileSync(path.join(import.meta.dirname, 'deepseek-golden', `${name}.txt`), 'utf8'), 1000, 1400, { page: 1 }).blocks;

test('HTML tables: rowspan and colspan are expanded into a rectangular grid; <th>/<thead> rows are the header', () => {
  const t = parseHtmlTable(
    '<table><thead><tr><th rowspan=2>A</th><th colspan="2">B</th></tr><tr><th>b1</th><th>b2</th></tr></thead><tr><td>1</td><td>2</td><td>3</td></tr></table>',
  );
  assert.deepEqual(t.grid, [
    ['A', 'B', 'B'],
    ['A', 'b1', 'b2'],
    ['1', '2', '3'],
  ]);
  assert.deepEqual(t.headerRows, [0, 1]);
});

test('HTML tables as models write them: unclosed cells, a missing <tr>, entities, and absurd spans stay bounded', () => {
  assert.deepEqual(parseHtmlTable('<table><td>a &amp; b<td>c<tr><td>d</td><td>e').grid, [
    ['a & b', 'c'],
    ['d', 'e'],
  ]);
  const huge = parseHtmlTable('<table><tr><td rowspan="99999" colspan="3">x</td></tr></table>');
  assert.deepEqual(huge.grid, [['x', 'x', 'x']]);
});

test('DeepSeek-OCR table before its caption: the caption, a two-level header, the data rows', () => {
  const [t] = extractTables(doc([{ blocks: golden('table-then-caption') }]));
  assert.equal(t.n, 1);
  assert.equal(t.page, 1);
  assert.equal(t.caption, 'Table 2: Accuracy by model and split');
  assert.deepEqual(t.bbox, [80, 420, 921, 729]);
  assert.deepEqual(t.columns, ['Model', 'Accuracy (%) / dev', 'Accuracy (%) / test']);
  assert.equal(t.headerRows, 2);
  assert.deepEqual(t.rows, [
    ['Base', '81.2', '80.4'],
    ['Large', '86.9', '85.7'],
  ]);
  assert.deepEqual(t.shape, [2, 3]);
});

test('Chinese table: header detected, column names unique and in Chinese', () => {
  const [t] = extractTables(doc([{ blocks: golden('chinese-tables-latex') }]));
  assert.equal(t.caption, '表 3-1 常见气体的比热容');
  assert.deepEqual(t.columns, ['气体', '比热容 (J/(kg·K)) / 定压 \\(c_p\\)', '比热容 (J/(kg·K)) / 定容 \\(c_V\\)']);
  assert.deepEqual(t.rows[1], ['氦气', '5193', '3116']);
});

test("the CPU engine's tables (Markdown pipe tables in the block text) and tables without a header", () => {
  const cpu: Block = {
    type: 'table',
    bbox: [10, 20, 300, 90],
    text: '| Item | Qty | Price |\n| --- | --- | --- |\n| Apples | 3 | 1.20 |\n| Pears \\| ripe | 2 | 0.80 |',
    confidence: 0.97,
  };
  const bare: Block = { type: 'table', bbox: [0, 0, 10, 10], text: '1\t2\n3\t4' };
  const tables = extractTables(doc([{ blocks: [cpu], engine: 'cpu' }, { blocks: [bare] }]));
  assert.deepEqual(tables[0].columns, ['Item', 'Qty', 'Price']);
  assert.deepEqual(tables[0].rows, [
    ['Apples', '3', '1.20'],
    ['Pears | ripe', '2', '0.80'],
  ]);
  assert.equal(tables[1].page, 2);
  assert.equal(tables[1].n, 2);
  assert.deepEqual(tables[1].columns, ['column_1', 'column_2']);
  assert.equal(tables[1].headerRows, 0);
  assert.deepEqual(tables[1].rows, [
    ['1', '2'],
    ['3', '4'],
  ]);
});

test('CSV, JSON and Parquet carry the same cells; Parquet reads back with polars', () => {
  const [t] = extractTables(doc([{ blocks: golden('table-then-caption') }]));
  assert.equal(exportTable(t, 'csv').toString(), 'Model,Accuracy (%) / dev,Accuracy (%) / test\nBase,81.2,80.4\nLarge,86.9,85.7\n');
  const json = JSON.parse(exportTable(t, 'json').toString());
  assert.deepEqual(json.columns, t.columns);
  assert.deepEqual(json.rows, t.rows);
  assert.equal(json.caption, t.caption);
  const back = pl.readParquet(exportTable(t, 'parquet'));
  assert.deepEqual(back.columns, t.columns);
  assert.deepEqual(back.rows(), t.rows);
});
