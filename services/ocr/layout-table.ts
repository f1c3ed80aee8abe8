// Table detection for layout.ts: consecutive rows that split into the same columns.
// Borders are not text (OCR and text layers both lose them), so bordered and borderless
// tables look alike here: cells whose x-ranges line up across rows.
import type { BBox, TextLine } from '../../shared/bus/messages.ts';
import { conf, roundBox, union, type Row, type Segment } from './layout-lines.ts';
import { splitProseColumns } from './layout-prose.ts';
import { isSideways } from './layout-furniture.ts';

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
  const { level, sideways } = splitSideways(all);
  const { rows, prose } = splitProseColumns(level);
  const rest: Row[] = [...prose, ...sideways];
  let i = 0;
  while (i < rows.length) {
    if (rows[i].segs.length < 2) {
      rest.push(rows[i++]);
      continue;
    }
    let j = i + 1;
    while (j < rows.length && closeBelow(rows[j - 1], rows[j])) j++;
    // A header row read as one piece (its cells set close, or one detector box over them) sits
    // just above: offered to the table, which takes it if its words fall into its columns.
    const above = rows[i - 1];
    const head = above && rest[rest.length - 1] === above && above.segs.length === 1 && rows[i].bbox[1] - above.bbox[3] <= above.size ? above : undefined;
    const found = tryTable(rows.slice(i, j), head);
    if (found) {
      if (found.head) rest.pop();
      tables.push(found.table);
      i += found.used;
    } else rest.push(rows[i++]);
  }
  return { tables, rest: rest.sort((p, q) => p.bbox[1] - q.bbox[1]) };
}

/**
 * Text set sideways (a landscape page's page number up its edge) shares no baseline with the
 * rows beside it: left among them it becomes a cell of whichever row meets its middle and
 * stretches that row over its neighbours. It stays out, a row of its own, for the reading order
 * to place in the margin.
 */
function splitSideways(rows: Row[]): { level: Row[]; sideways: Row[] } {
  const letters = letterStacks(rows.flatMap((r) => r.segs));
  const turned = (s: Segment) => letters.has(s) || isSideways({ bbox: s.bbox, text: s.text, size: s.size });
  if (!rows.some((r) => r.segs.some(turned))) return { level: rows, sideways: [] };
  const rowOf = (segs: Segment[]): Row => ({ segs, bbox: segs.map((s) => s.bbox).reduce(union), size: Math.max(...segs.map((s) => s.size)) });
  const level: Row[] = [];
  const sideways: Row[] = [];
  for (const r of rows) {
    const kept = r.segs.filter((s) => !turned(s));
    for (const s of r.segs) if (turned(s)) sideways.push(rowOf([s]));
    if (kept.length === r.segs.length) level.push(r);
    else if (kept.length > 0) level.push(rowOf(kept));
  }
  return { level, sideways };
}

/**
 * A word set sideways that the detector boxed letter by letter: three or more pieces of one or
 * two characters stacked one on another (touching, as letters of a word do; rows of a table keep
 * their leading) beyond every other piece's side, at the page's edge (senate_exp's "B-1191" read
 * as "I", "6", "T").
 */
function letterStacks(segs: Segment[]): Set<Segment> {
  const short = segs.filter((s) => s.chars <= 2).sort((p, q) => p.bbox[1] - q.bbox[1]);
  const out = new Set<Segment>();
  const xOverlap = (a: Segment, b: Segment) => Math.min(a.bbox[2], b.bbox[2]) - Math.max(a.bbox[0], b.bbox[0]);
  const width = (s: Segment) => s.bbox[2] - s.bbox[0];
  for (let i = 0; i < short.length; i++) {
    if (out.has(short[i])) continue;
    const stack = [short[i]];
    for (let j = i + 1; j < short.length; j++) {
      const last = stack[stack.length - 1];
      const s = short[j];
      if (s.bbox[1] - last.bbox[3] > 0.1 * Math.min(s.size, last.size)) break;
      if (xOverlap(s, last) >= 0.5 * Math.min(width(s), width(last))) stack.push(s);
    }
    if (stack.length < 3) continue;
    const [x0, x1] = [Math.min(...stack.map((s) => s.bbox[0])), Math.max(...stack.map((s) => s.bbox[2]))];
    const others = segs.filter((s) => !stack.includes(s));
    if (others.length > 0 && (others.every((s) => s.bbox[2] <= x0) || others.every((s) => s.bbox[0] >= x1))) stack.forEach((s) => out.add(s));
  }
  return out;
}

function closeBelow(above: Row, below: Row): boolean {
  return below.bbox[1] - above.bbox[3] <= 1.5 * Math.max(above.size, below.size);
}

function tryTable(run: Row[], head?: Row): { table: Table; used: number; head: boolean } | null {
  let rows = trimTail(run);
  if (rows.length < 2) return null;
  let cols = columns(rows);
  // A one-piece row that spans several columns (a paragraph line) ends the table; one that
  // keeps to one column, running on into the gap beside it, is a cell's wrapped line.
  const stop = rows.findIndex((r) => r.segs.length === 1 && !withinOneColumn(r.segs[0], cols));
  if (stop >= 0) {
    rows = trimTail(rows.slice(0, stop));
    if (rows.length < 2) return null;
    cols = columns(rows);
  }
  if (cols.length < 2) return null;
  const cells = rows.map((r) => assign(r, cols));
  // The last record's wrapped lines are one-piece rows too, but part of the table.
  while (rows.length < run.length && run[rows.length].segs.length === 1 && withinOneColumn(run[rows.length].segs[0], cols)) {
    const next = assign(run[rows.length], cols);
    if (!continuesRow(cells[cells.length - 1], next)) break;
    rows = [...rows, run[rows.length]];
    cells.push(next);
  }
  const multi = cells.filter((c) => c.filter((s) => s.length > 0).length >= 2).length;
  if (multi < 2) return null;
  if (looksLikeProse(cells)) return null;
  // Two columns at least, each with letters or digits in two rows or more: a caption's lone
  // entry beside a column of `.` separators (a court filing's heading) is not a table.
  const real = (c: string) => /[\p{L}\p{N}]/u.test(c);
  const realCols = cols.filter((_, k) => cells.filter((r) => real(r[k])).length >= 2).length;
  if (realCols < 2) return null;
  // Nor are two blocks either side of such a column: a caption's parties beside its case number,
  // `)` set on every line between them, are read block by block, not row by row.
  const divider = (k: number) => {
    const filled = cells.map((r) => r[k]).filter(Boolean);
    return filled.length >= 3 && filled.every((c) => DIVIDER.test(c));
  };
  if (realCols === 2 && cols.some((_, k) => divider(k))) return null;
  const merged = mergeWrappedCells(mergeWrappedHeader(rows, cells, cols));
  const headCells = head ? headerCells(head, rows, cols) : null;
  if (headCells) {
    merged.rows.unshift(head!);
    merged.cells.unshift(headCells);
  }
  return { table: build(merged.rows, merged.cells), used: rows.length, head: headCells !== null };
}

/**
 * A one-piece row's words placed where their characters sit (from the piece's pitch), each in
 * the column nearest its middle, when that makes cells in at least two columns. Only a row set
 * like the table's (a title above it is larger, or reaches past it) is offered.
 */
function headerCells(head: Row, rows: Row[], cols: Span[]): string[] | null {
  const s = head.segs[0];
  const tokens = s.text.split(' ').filter(Boolean);
  if (tokens.length < 2 || tokens.length > 3 * cols.length) return null;
  const sizes = rows.map((r) => r.size).sort((p, q) => p - q);
  if (head.size > 1.35 * sizes[Math.floor(sizes.length / 2)]) return null;
  const [left, right] = [cols[0][0], cols[cols.length - 1][1]];
  if (s.bbox[0] < left - head.size || s.bbox[2] > right + 0.25 * (right - left)) return null;
  const out = cols.map(() => '');
  for (const { t, x0, x1 } of placeTokens(s, tokens)) {
    const k = nearestColumn((x0 + x1) / 2, cols);
    out[k] = out[k] ? `${out[k]} ${t}` : t;
  }
  return out.filter(Boolean).length >= 2 ? out : null;
}

function nearestColumn(x: number, cols: Span[]): number {
  const dist = (c: Span) => (x < c[0] ? c[0] - x : x > c[1] ? x - c[1] : 0);
  let best = 0;
  for (let k = 1; k < cols.length; k++) if (dist(cols[k]) < dist(cols[best])) best = k;
  return best;
}

/** Each token's estimated extent in a piece of text: characters share its width evenly, a space counts 0.6. */
function placeTokens(s: Segment, tokens: string[]): Array<{ t: string; x0: number; x1: number }> {
  const len = (t: string) => [...t].length;
  const total = tokens.reduce((n, t) => n + len(t), 0) + 0.6 * (tokens.length - 1);
  const pitch = (s.bbox[2] - s.bbox[0]) / total;
  let x = s.bbox[0];
  return tokens.map((t) => {
    const x0 = x;
    x += (len(t) + 0.6) * pitch;
    return { t, x0, x1: x0 + len(t) * pitch };
  });
}

/** A lone mark a caption sets down the page between its two sides (`)`, `§`; `.` or `:` as read). */
const DIVIDER = /^[).:§]$/u;

const NUMERIC = /^[-+–−(]?[$€£]?[\d.,]*\d[\d.,]*%?[)]?$/u;
const isNumber = (t: string) => NUMERIC.test(t) || /^[–—-]$/u.test(t);

/**
 * Header lines of one cell wrapped onto the next row ("Under 18" over "years") are one cell
 * level: a row above the first data row is joined into the next when its filled columns (the
 * stub apart) are all filled below too and it is not a group row (Total / Male / Female over
 * their three columns each: sparser, or pieces across columns), the two rows set close.
 */
function mergeWrappedHeader(rows: Row[], cells: string[][], cols: Span[]): { rows: Row[]; cells: string[][] } {
  const filled = (r: string[]) => r.map((c, k) => (c ? k : -1)).filter((k) => k >= 0);
  const numeric = (r: string[]) => {
    const f = r.filter(Boolean);
    return f.length > 0 && f.filter((c) => c.split(' ').every(isNumber)).length >= f.length / 2;
  };
  const firstData = cells.findIndex(numeric);
  return joinRows(rows, cells, (above, aboveRow, i) => {
    const a = filled(above).filter((c) => c > 0);
    const b = filled(cells[i]);
    const close = rows[i].bbox[1] - aboveRow.bbox[3] <= 0.5 * Math.max(rows[i].size, aboveRow.size);
    // A piece over several columns heads a group of them; a wrapped cell's lines keep to one.
    const single = aboveRow.segs.every((s) => cols.filter((c) => overlap(s, c) > 0).length <= 1);
    return firstData > 0 && i < firstData && close && single && a.length > 0 && a.every((c) => b.includes(c)) && filled(above).length >= 0.5 * b.length;
  });
}

/** Rows joined into the row kept above them wherever `joins` says so: cells side by side, boxes united. */
function joinRows(rows: Row[], cells: string[][], joins: (above: string[], aboveRow: Row, i: number) => boolean): { rows: Row[]; cells: string[][] } {
  const outRows = [rows[0]];
  const outCells = [[...cells[0]]];
  for (let i = 1; i < rows.length; i++) {
    const k = outRows.length - 1;
    if (joins(outCells[k], outRows[k], i)) {
      outCells[k] = outCells[k].map((c, j) => [c, cells[i][j]].filter(Boolean).join(' '));
      outRows[k] = { ...outRows[k], bbox: union(outRows[k].bbox, rows[i].bbox), segs: [...outRows[k].segs, ...rows[i].segs] };
    } else {
      outRows.push(rows[i]);
      outCells.push([...cells[i]]);
    }
  }
  return { rows: outRows, cells: outCells };
}

/**
 * Lines of a cell wrapped under its row are one row with it: in a table of figures, a row with
 * no figure of its own, whose cells all lie in columns the row above fills, that leaves empty
 * the above's first filled column (a record's key: its number, its name) and a figure the row
 * above has, continues that row's cells (senate_exp: a description over two or three lines
 * beside its document number, dates and amount). A row with a figure is a record of its own,
 * even with its key column empty (a payee under a blank document number).
 */
function mergeWrappedCells({ rows, cells }: { rows: Row[]; cells: string[][] }): { rows: Row[]; cells: string[][] } {
  return joinRows(rows, cells, (above, _aboveRow, i) => continuesRow(above, cells[i]));
}

/** Whether a row's cells are wrapped lines of the cells above (mergeWrappedCells). */
function continuesRow(above: string[], here: string[]): boolean {
  const filled = (r: string[]) => r.map((c, k) => (c ? k : -1)).filter((k) => k >= 0);
  const figure = (c: string) => c.length > 0 && c.split(' ').every(isNumber);
  const cols = filled(here);
  return cols.length > 0 && !here.some(figure) && cols.every((c) => above[c]) && !here[filled(above)[0]] && above.some((c, j) => figure(c) && !here[j]);
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

/**
 * A piece keeps to one column when it lies (mostly) in its span, or when it starts or ends at
 * that column's edge and runs on only into the gap beside it, reaching no other column: the
 * wrapped line of a description cell is often longer than any first line the columns were
 * measured on (senate_exp: "STAFF TRANSPORTATION" over "AIRFARE FOR … AND RETURN").
 */
function withinOneColumn(s: Segment, cols: Span[]): boolean {
  const w = Math.max(1, s.bbox[2] - s.bbox[0]);
  if (cols.some((c) => overlap(s, c) >= 0.8 * w)) return true;
  const reached = cols.filter((c) => overlap(s, c) > 0.5 * s.size);
  if (reached.length !== 1) return false;
  const [c] = reached;
  return Math.abs(s.bbox[0] - c[0]) <= s.size || Math.abs(s.bbox[2] - c[1]) <= s.size;
}

function assign(row: Row, cols: Span[]): string[] {
  const cells = cols.map(() => '');
  const put = (k: number, text: string) => (cells[k] = cells[k] ? `${cells[k]} ${text}` : text);
  for (const s of row.segs) {
    const split = splitNumbers(s, cols);
    if (split) {
      split.forEach((text, k) => text && put(k, text));
      continue;
    }
    let best = 0;
    for (let k = 1; k < cols.length; k++) if (overlap(s, cols[k]) > overlap(s, cols[best])) best = k;
    put(best, s.text);
  }
  return cells.map(dropLeader);
}

/**
 * Numbers in adjacent cells read as one piece (`0.27 0.33`: a detector box over two cells, or
 * text-layer runs a word space apart) go back to their columns: each number is placed where its
 * characters sit, from the piece's pitch. Words are left whole: a header over several columns
 * is one cell, not one word per column.
 */
function splitNumbers(s: Segment, cols: Span[]): string[] | null {
  const tokens = s.text.split(' ').filter(Boolean);
  if (tokens.length < 2 || !tokens.every(isNumber)) return null;
  if (cols.filter((c) => overlap(s, c) > 0).length < 2) return null;
  const out = cols.map(() => '');
  for (const { t, x0, x1 } of placeTokens(s, tokens)) {
    const k = nearestColumn((x0 + x1) / 2, cols);
    out[k] = out[k] ? `${out[k]} ${t}` : t;
  }
  return out.filter(Boolean).length >= 2 ? out : null;
}

/** Dot leaders (`Robbery. . . . .`) lead the eye across, they are not the cell's text; a cell of dots alone (a placeholder) stays. */
function dropLeader(cell: string): string {
  const m = /^(.*?[^.\s])\s*(?:\.\s*){3,}$/u.exec(cell);
  if (m) return m[1];
  return /^(?:\.\s+){2,}\.$/u.test(cell) ? '' : cell;
}

/** Two columns of long lines are a two-column page, not a table. */
function looksLikeProse(cells: string[][]): boolean {
  // Three columns or more, one of them short figures in most rows (amounts, codes, dates): a
  // table with descriptive columns, however wordy they are (`1 work-hour × $85 per hour = $85`).
  const figures = (k: number) => {
    const filled = cells.map((r) => r[k]).filter(Boolean);
    const lens = filled.map((c) => [...c].length).sort((p, q) => p - q);
    return filled.length >= cells.length / 2 && lens[Math.floor(lens.length / 2)] <= 12 && filled.filter((c) => /\d/.test(c)).length >= 0.7 * filled.length;
  };
  if (cells[0].length >= 3 && cells[0].some((_, k) => figures(k))) return false;
  // Prose is mostly lower case; a column of payees or descriptions in capitals is table cells.
  const lowerCase = (k: number) => {
    const text = cells.map((r) => r[k]).join('');
    return (text.match(/\p{Ll}/gu)?.length ?? 0) >= 0.5 * (text.match(/\p{L}/gu)?.length ?? 1);
  };
  const long = cells[0]
    .map((_, k) => {
      const lens = cells
        .map((r) => [...r[k]].length)
        .filter((n) => n > 0)
        .sort((p, q) => p - q);
      return lens.length && lowerCase(k) ? lens[Math.floor(lens.length / 2)] : 0;
    })
    .filter((median) => median >= 20).length;
  if (long >= 2) return true;
  // Fragments of prose columns (a paragraph's last line beside a heading beside a full line)
  // line up by chance for a few rows: several words to a cell, in more than one column.
  const wordy = cells[0].filter((_, k) => {
    const filled = cells.map((r) => r[k]).filter((c) => c.length > 0);
    // Prose is mostly lower case; names and descriptions in capitals (`BAIN, J MATTHEW`) are cells.
    const prose = (c: string) => c.split(/\s+/).length >= 3 && (c.match(/\p{Ll}/gu)?.length ?? 0) >= 0.5 * (c.match(/\p{L}/gu)?.length ?? 1);
    return filled.length > 0 && filled.filter(prose).length >= filled.length / 3;
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
