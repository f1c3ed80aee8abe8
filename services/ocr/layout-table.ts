// Table detection for layout.ts: consecutive rows that split into the same columns.
// Borders are not text (OCR and text layers both lose them), so bordered and borderless
// tables look alike here: cells whose x-ranges line up across rows.
import type { BBox, TextLine } from '../../shared/messages.ts';
import { conf, roundBox, type Row, type Segment } from './layout-lines.ts';
import { splitProseColumns } from './layout-prose.ts';

export interface Table {
  bbox: BBox;
  cells: string[][];
  markdown: string;
  chars: number;
  confSum: number;
  confChars: number;
  /** The cells as read, row by row, with their boxes (Block.lines of the table). */
  lines: TextLine[];
}

/** Splits rows into tables and the rows left over (in their original order). */
export function findTables(all: Row[]): { tables: Table[]; rest: Row[] } {
  const tables: Table[] = [];
  const { rows, prose } = splitProseColumns(all);
  const rest: Row[] = [...prose];
  let i = 0;
  while (i < rows.length) {
    if (rows[i].segs.length < 2) {
      rest.push(rows[i++]);
      continue;
    }
    let j = i + 1;
    while (j < rows.length && closeBelow(rows[j - 1], rows[j])) j++;
    const found = tryTable(rows.slice(i, j));
    if (found) {
      tables.push(found.table);
      i += found.used;
    } else rest.push(rows[i++]);
  }
  return { tables, rest: rest.sort((p, q) => p.bbox[1] - q.bbox[1]) };
}

function closeBelow(above: Row, below: Row): boolean {
  return below.bbox[1] - above.bbox[3] <= 1.5 * Math.max(above.size, below.size);
}

function tryTable(run: Row[]): { table: Table; used: number } | null {
  let rows = trimTail(run);
  if (rows.length < 2) return null;
  let cols = columns(rows);
  // A one-piece row that spans several columns (a paragraph line) ends the table.
  const stop = rows.findIndex((r) => r.segs.length === 1 && !withinOneColumn(r.segs[0], cols));
  if (stop >= 0) {
    rows = trimTail(rows.slice(0, stop));
    if (rows.length < 2) return null;
    cols = columns(rows);
  }
  if (cols.length < 2) return null;
  const cells = rows.map((r) => assign(r, cols));
  const multi = cells.filter((c) => c.filter((s) => s.length > 0).length >= 2).length;
  if (multi < 2) return null;
  if (looksLikeProse(cells)) return null;
  return { table: build(rows, cells), used: rows.length };
}

/** Drops trailing one-piece rows: a table ends on a row with several cells. */
function trimTail(rows: Row[]): Row[] {
  let end = rows.length;
  while (end > 0 && rows[end - 1].segs.length < 2) end--;
  return rows.slice(0, end);
}

type Span = [number, number];

/**
 * Column boundaries are x-ranges that (almost) no multi-cell row has ink in. One row in three
 * may cross a gap: a table rule misread as "1", a header wider than its column, or two
 * cells a blurred scan ran together.
 */
function columns(rows: Row[]): Span[] {
  const multi = rows.filter((r) => r.segs.length >= 2);
  const x0 = Math.floor(Math.min(...multi.map((r) => r.bbox[0])));
  const x1 = Math.ceil(Math.max(...multi.map((r) => r.bbox[2])));
  const count = new Uint16Array(Math.max(1, x1 - x0));
  for (const r of multi) {
    const covered = new Uint8Array(count.length);
    for (const s of r.segs) covered.fill(1, Math.max(0, Math.floor(s.bbox[0]) - x0), Math.max(0, Math.ceil(s.bbox[2]) - x0));
    for (let k = 0; k < count.length; k++) count[k] += covered[k];
  }
  const tol = multi.length >= 3 ? Math.floor(multi.length / 3) : 0;
  const cols: Span[] = [];
  let start = 0;
  let k = 0;
  while (k < count.length) {
    if (count[k] > tol) {
      k++;
      continue;
    }
    let e = k;
    while (e < count.length && count[e] <= tol) e++;
    if (k > start && e < count.length && e - k >= 2) {
      cols.push([x0 + start, x0 + k]);
      start = e;
    }
    k = e;
  }
  cols.push([x0 + start, x1]);
  return cols;
}

function overlap(s: Segment, c: Span): number {
  return Math.max(0, Math.min(s.bbox[2], c[1]) - Math.max(s.bbox[0], c[0]));
}

function withinOneColumn(s: Segment, cols: Span[]): boolean {
  const w = Math.max(1, s.bbox[2] - s.bbox[0]);
  return cols.some((c) => overlap(s, c) >= 0.8 * w);
}

function assign(row: Row, cols: Span[]): string[] {
  const cells = cols.map(() => '');
  for (const s of row.segs) {
    let best = 0;
    for (let k = 1; k < cols.length; k++) if (overlap(s, cols[k]) > overlap(s, cols[best])) best = k;
    cells[best] = cells[best] ? `${cells[best]} ${s.text}` : s.text;
  }
  return cells;
}

/** Two columns of long lines are a two-column page, not a table. */
function looksLikeProse(cells: string[][]): boolean {
  const long = cells[0]
    .map((_, k) => {
      const lens = cells.map((r) => [...r[k]].length).filter((n) => n > 0).sort((p, q) => p - q);
      return lens.length ? lens[Math.floor(lens.length / 2)] : 0;
    })
    .filter((median) => median >= 20).length;
  if (long >= 2) return true;
  // Fragments of prose columns (a paragraph's last line beside a heading beside a full line)
  // line up by chance for a few rows: several words to a cell, in more than one column.
  const wordy = cells[0].filter((_, k) => {
    const filled = cells.map((r) => r[k]).filter((c) => c.length > 0);
    return filled.length > 0 && filled.filter((c) => c.split(/\s+/).length >= 3).length >= filled.length / 3;
  }).length;
  return wordy >= 2;
}

function build(rows: Row[], cells: string[][]): Table {
  const segs = rows.flatMap((r) => r.segs);
  const bbox = rows.map((r) => r.bbox).reduce((a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])]);
  const line = (r: string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  const markdown = [line(cells[0]), line(cells[0].map(() => '---')), ...cells.slice(1).map(line)].join('\n');
  return {
    bbox,
    cells,
    markdown,
    chars: segs.reduce((n, s) => n + s.chars, 0),
    confSum: segs.reduce((n, s) => n + s.confSum, 0),
    confChars: segs.reduce((n, s) => n + s.confChars, 0),
    lines: segs.map((s) => ({ text: s.text, bbox: roundBox(s.bbox), ...conf(s) })),
  };
}
