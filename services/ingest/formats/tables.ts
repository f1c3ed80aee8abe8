/**
 * Tables of an assembled document as data. Pure: document.json in, cell grids out. Sources:
 * DeepSeek-OCR's HTML tables (the block's `html`, rowspan/colspan expanded), the CPU engine's and
 * plain-profile Markdown pipe tables, and otherwise the block text's tab-separated rows.
 * polars-export.ts turns one into CSV, JSON or Parquet.
 */
import type { BBox, Block, DocumentResult } from '../../../shared/bus/index.ts';
import { parseHtmlTable } from '../../../shared/document/index.ts';

export interface TableInfo {
  /** 1-based, in document order: the `:n` of /v1/jobs/:id/tables/:n. */
  n: number;
  page: number;
  /** In page pixels. */
  bbox: BBox;
  /** The adjacent table_caption block's text, when there is one. */
  caption?: string;
  /** Data rows × columns (header rows not counted). */
  shape: [number, number];
  columns: string[];
  /** How many leading rows of the table were its header (0: none detected, columns are column_1 …). */
  headerRows: number;
}

export interface ExtractedTable extends TableInfo {
  rows: string[][];
}

export function extractTables(doc: DocumentResult): ExtractedTable[] {
  const out: ExtractedTable[] = [];
  for (const page of doc.pages) {
    const blocks = [...page.blocks].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    for (const [i, block] of blocks.entries()) {
      if (block.type !== 'table') continue;
      const { grid, headerRows } = gridOf(block);
      if (grid.length === 0) continue;
      const depth = Math.min(headerRows, grid.length - 1);
      const columns = columnNames(grid.slice(0, depth), grid[0].length);
      const rows = grid.slice(depth);
      const caption = captionOf(blocks, i);
      out.push({
        n: out.length + 1,
        page: page.page,
        bbox: block.bbox,
        ...(caption ? { caption } : {}),
        shape: [rows.length, columns.length],
        columns,
        headerRows: depth,
        rows,
      });
    }
  }
  return out;
}

/** The table's cells and how many leading rows are its header. */
export function gridOf(block: Pick<Block, 'html' | 'text'>): { grid: string[][]; headerRows: number } {
  if (block.html) {
    const t = parseHtmlTable(block.html);
    const marked = leadingRun(t.headerRows);
    return { grid: t.grid, headerRows: marked > 0 ? marked : guessHeader(t.grid, t.firstRowDepth) };
  }
  const lines = block.text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length >= 2 && lines.every((l) => /^\s*\|.*\|\s*$/.test(l))) {
    // A Markdown pipe table: its first row is a header by syntax.
    const rows = lines.filter((l) => !/^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$/.test(l)).map(pipeCells);
    return { grid: rectangular(rows), headerRows: 1 };
  }
  const grid = rectangular(lines.map((l) => l.split('\t').map((c) => c.trim())));
  return { grid, headerRows: guessHeader(grid, 1) };
}

function pipeCells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.replace(/\\\|/g, '|').trim());
}

function rectangular(rows: string[][]): string[][] {
  const width = Math.max(0, ...rows.map((r) => r.length));
  return rows.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? ''));
}

function leadingRun(rows: number[]): number {
  let n = 0;
  while (rows.includes(n)) n++;
  return n;
}

const NUMERIC = /^[-+−]?[$€£¥]?\s?\d[\d,.\s]*%?$|^[-+−]?\.\d+%?$/;

/**
 * No `<th>`: the first row is a header when every cell in it is text (not a number) and some
 * column holds numbers below it; a first-row cell spanning several rows makes those rows header
 * rows too (a two-level header: "Accuracy" over "dev | test").
 */
function guessHeader(grid: string[][], firstRowDepth: number): number {
  if (grid.length < 2) return 0;
  const first = grid[0];
  if (!first.every((c) => c !== '' && !NUMERIC.test(c))) return 0;
  const body = grid.slice(Math.max(1, firstRowDepth));
  const numericColumn = first.some((_, k) => {
    const vals = body.map((r) => r[k]).filter((v) => v !== '');
    return vals.length > 0 && vals.filter((v) => NUMERIC.test(v)).length * 2 >= vals.length;
  });
  if (!numericColumn) return 0;
  return Math.min(grid.length - 1, Math.max(1, firstRowDepth));
}

/** One name per column: the header rows' distinct texts joined by " / ", unique, never empty. */
export function columnNames(header: string[][], width: number): string[] {
  const seen = new Map<string, number>();
  return Array.from({ length: width }, (_, k) => {
    const parts: string[] = [];
    for (const row of header) if (row[k] && parts[parts.length - 1] !== row[k]) parts.push(row[k]);
    let name = parts.join(' / ') || `column_${k + 1}`;
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    if (count > 1) name = `${name}_${count}`;
    return name;
  });
}

/** A table's caption sits next to it in reading order, before or (DeepSeek-OCR's usual order) after. */
function captionOf(blocks: Block[], i: number): string | undefined {
  for (const j of [i + 1, i - 1]) {
    const b = blocks[j];
    if (b?.type === 'table_caption' && b.text.trim() !== '') return b.text.trim();
  }
  return undefined;
}

/** The list entry: everything but the cells. */
export function tableInfo(t: ExtractedTable): TableInfo {
  const { rows: _rows, ...info } = t;
  return info;
}
