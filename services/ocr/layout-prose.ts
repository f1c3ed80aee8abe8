// Text columns beside tables, for layout-table.ts. A table set beside one or two columns of
// prose shares its rows' heights with the prose lines, so rows built across the page hold a
// table row and a prose line side by side; left there, the prose becomes a table column and
// the table is read row by row with the text (mmwr_p65: a table column beside two text
// columns). A text column is found by its lines, not by the gap before it: many consecutive
// lines starting at one left edge, long and wordy as prose is and table cells are not.
import type { Row, Segment } from './layout-lines.ts';
import { union } from './layout-lines.ts';

/** Lines a text column must show, one under the other, before it is taken out of the rows. */
const MIN_LINES = 4;
/**
 * Line heights between two wordy lines of one run: room for a short line or two between them
 * (a paragraph's end, a heading, a line a text layer left in word-sized pieces).
 */
const GAP_LINES = 3.5;

/**
 * One line of running prose: several words, a line's worth of characters, mostly letters and
 * mostly lower case (a table's descriptions in capitals, `AIRFARE FOR E JOHNSON …`, are cells).
 */
function wordy(s: Segment): boolean {
  if (s.chars < 25 || s.text.split(/\s+/).length < 4) return false;
  const letters = s.text.match(/\p{L}/gu)?.length ?? 0;
  const lower = s.text.match(/\p{Ll}/gu)?.length ?? 0;
  return letters >= 0.6 * s.chars && lower >= 0.5 * letters;
}

interface Column {
  x0: number;
  x1: number;
  top: number;
  bottom: number;
  /** A paragraph's short last line, just under the run at the column's edge, belongs to it too. */
  tail: number;
  size: number;
}

/**
 * Takes the text columns out of rows that also hold other pieces (a table's cells): `prose` are
 * the column's lines as rows of their own, `rows` what is left, so table detection sees only what
 * lies beside the text. Both in top-to-bottom order; without a text column, `rows` is the input.
 */
export function splitProseColumns(rows: Row[]): { rows: Row[]; prose: Row[] } {
  const columns = proseColumns(rows);
  if (columns.length === 0) return { rows, prose: [] };
  const inColumn = (s: Segment) => columns.some((c) => inside(s, c));
  const kept: Row[] = [];
  const prose: Row[] = [];
  for (const row of rows) {
    const text = row.segs.filter(inColumn);
    const other = row.segs.filter((s) => !inColumn(s));
    if (text.length > 0) prose.push(rowOf(text));
    if (other.length > 0) kept.push(text.length > 0 ? rowOf(other) : row);
  }
  return { rows: kept, prose };
}

/** A segment lies in a column when it is within its span (pieces of a line too, a heading), over the column's height. */
function inside(s: Segment, c: Column): boolean {
  const em = s.size;
  const cy = (s.bbox[1] + s.bbox[3]) / 2;
  if (s.bbox[0] < c.x0 - 0.5 * em || s.bbox[2] > c.x1 + 1.5 * em || cy < c.top) return false;
  return cy <= c.bottom || (cy <= c.tail && s.bbox[0] <= c.x0 + 0.5 * c.size);
}

/** How far the segment's middle is from that of the nearest other piece of its row (0 when alone). */
function offBaseline(s: Segment, row: Row): number {
  const mid = (b: Segment['bbox']) => (b[1] + b[3]) / 2;
  const others = row.segs.filter((o) => o !== s);
  if (others.length === 0) return 0;
  const near = others.reduce((p, q) => (Math.abs(q.bbox[0] - s.bbox[0]) < Math.abs(p.bbox[0] - s.bbox[0]) ? q : p));
  return Math.abs(mid(near.bbox) - mid(s.bbox));
}

function rowOf(segs: Segment[]): Row {
  return { segs, bbox: segs.map((s) => s.bbox).reduce(union), size: Math.max(...segs.map((s) => s.size)) };
}

/**
 * Runs of at least MIN_LINES consecutive wordy segments that start at one left edge (within two
 * ems) with nothing but short gaps between them: a paragraph or more of a text column. Only
 * runs in which some row also holds other pieces matter; a page of plain columns is left alone.
 */
function proseColumns(rows: Row[]): Column[] {
  const cands = rows.flatMap((r, i) => r.segs.filter(wordy).map((s) => ({ s, i, shared: r.segs.length >= 2, offset: offBaseline(s, r) })));
  cands.sort((p, q) => p.s.bbox[0] - q.s.bbox[0] || p.s.bbox[1] - q.s.bbox[1]);
  const used = new Set<number>();
  const columns: Column[] = [];
  for (let k = 0; k < cands.length; k++) {
    if (used.has(k)) continue;
    const x0 = cands[k].s.bbox[0];
    // Two ems take in paragraph indents and hanging indents (a reference list's numbers).
    const group = cands.map((c, idx) => ({ ...c, idx })).filter((c) => !used.has(c.idx) && c.s.bbox[0] - x0 <= 2 * c.s.size);
    group.sort((p, q) => p.s.bbox[1] - q.s.bbox[1]);
    group.forEach((c) => used.add(c.idx));
    // Consecutive lines: the next one starts within GAP_LINES line heights of the last one's foot.
    let run: typeof group = [];
    const close = () => {
      // A table's wordy column (descriptions) sits on its rows' baselines, and stops where the
      // table does; a text column beside a table keeps its own leading, and runs on past it.
      // A line whose row has other pieces over the column's span is a wide row's label (a
      // table's "Total" row), not a line beside something: it is not part of the column.
      const span = (cs: typeof run): [number, number] => [Math.min(...cs.map((c) => c.s.bbox[0])), Math.max(...cs.map((c) => c.s.bbox[2]))];
      if (run.length > 0) {
        const [a, b] = span(run);
        run = run.filter((c) => rows[c.i].segs.every((o) => o === c.s || o.bbox[2] <= a || o.bbox[0] >= b));
      }
      const shared = run.filter((c) => c.shared);
      const ownLeading = shared.filter((c) => c.offset > 0.15 * c.s.size).length >= shared.length / 2;
      const runsOn = shared.length <= run.length / 2;
      if (run.length >= MIN_LINES && shared.length > 0 && (ownLeading || runsOn)) {
        const boxes = run.map((c) => c.s.bbox);
        const size = Math.max(...run.map((c) => c.s.size));
        columns.push({
          x0: Math.min(...boxes.map((b) => b[0])),
          x1: Math.max(...boxes.map((b) => b[2])),
          top: Math.min(...boxes.map((b) => b[1])) - 0.5 * size,
          bottom: Math.max(...boxes.map((b) => b[3])) + 0.5 * size,
          tail: Math.max(...boxes.map((b) => b[3])) + 1.5 * size,
          size,
        });
      }
      run = [];
    };
    for (const c of group) {
      const last = run[run.length - 1];
      if (last && c.s.bbox[1] - last.s.bbox[3] > GAP_LINES * Math.max(c.s.size, last.s.size)) close();
      run.push(c);
    }
    close();
  }
  return columns;
}
