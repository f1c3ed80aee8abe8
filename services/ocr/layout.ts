// Recognised lines (from OCR or a PDF text layer) → reading-ordered Markdown and blocks.
// Pure geometry, no I/O: the same code serves the CPU engine and the text-layer path.
//
// Stages: fragments on one baseline become rows and segments; aligned multi-segment rows
// become tables; an XY-cut over segments and tables gives the reading order (columns before
// rows); consecutive rows of similar size and small leading become paragraphs or headings.
import type { BBox, Block } from '../../shared/messages.ts';
import { buildRows, conf, cy, groupRows, medianOf, roundBox, union, type LayoutLine, type Row, type Segment } from './layout-lines.ts';
import { bodyStyle, continuesParagraph, paragraphBlock, type Paragraph } from './layout-paragraphs.ts';
import { findTables, type Table } from './layout-table.ts';

export type { LayoutLine } from './layout-lines.ts';

export interface LayoutOptions {
  /**
   * Pieces of one line closer than this (× text height) are joined into one segment. Text layers
   * split lines at font changes and sometimes at word spaces (≈0.3 em): 0.4 there. An OCR
   * detector already joins words, and its separate boxes are cells even when blur makes them
   * overlap: -Infinity (never join).
   */
  joinGap?: number;
  /** Plain text (the "free" task): no heading marks, table rows as space-separated lines. */
  plain?: boolean;
}

export interface LayoutResult {
  markdown: string;
  blocks: Block[];
}

type Unit = { kind: 'seg'; seg: Segment; bbox: BBox } | { kind: 'table'; table: Table; bbox: BBox };

export function layoutPage(lines: LayoutLine[], opts: LayoutOptions = {}): LayoutResult {
  const rows = buildRows(lines, opts.joinGap ?? 0.4);
  if (rows.length === 0) return { markdown: '', blocks: [] };
  const { tables, rest } = findTables(rows);
  const units: Unit[] = [
    ...rest.flatMap((r) => r.segs.map((seg): Unit => ({ kind: 'seg', seg, bbox: seg.bbox }))),
    ...tables.map((table): Unit => ({ kind: 'table', table, bbox: table.bbox })),
  ];
  const body = bodyStyle(rest);
  const blocks: Block[] = [];
  const md: string[] = [];
  let para: Paragraph | null = null;
  const flush = () => {
    if (!para) return;
    const b = paragraphBlock(para, body, opts.plain ?? false);
    blocks.push(b.block);
    md.push(b.markdown);
    para = null;
  };
  const addRow = (row: Row) => {
    if (para && continuesParagraph(para, row)) {
      para.rows.push(row);
      para.bbox = union(para.bbox, row.bbox);
    } else {
      flush();
      para = { rows: [row], bbox: row.bbox };
    }
  };
  // Line height from single lines: rows of a multi-column page merge lines of several columns
  // whose baselines differ a little, and grow taller than any one line.
  const lineSize = medianOf(rows.flatMap((r) => r.segs.map((s) => s.size)));
  for (const leaf of readingOrder(units, lineSize)) {
    // Units that no cut separates overlap: read them top to bottom, tables as wholes.
    let pending: Segment[] = [];
    const drain = () => {
      groupRows(pending).forEach(addRow);
      pending = [];
    };
    for (const u of [...leaf].sort((p, q) => cy(p.bbox) - cy(q.bbox))) {
      if (u.kind === 'seg') {
        pending.push(u.seg);
        continue;
      }
      drain();
      flush();
      const text = opts.plain ? u.table.cells.map((r) => r.filter(Boolean).join(' ')).join('\n') : u.table.markdown;
      blocks.push({ type: 'table', bbox: roundBox(u.table.bbox), text, ...conf(u.table) });
      md.push(text);
    }
    drain();
  }
  flush();
  return { markdown: md.join('\n\n'), blocks };
}

// ---------- reading order ----------

/**
 * Running headers and footers first and last: a band of at most two lines at the top or bottom
 * of the page, apart from the body by a clear gap. Left to the XY-cut, a footer's page number
 * under the last column would be read with that column, mid-page.
 */
function readingOrder(units: Unit[], lineSize: number): Unit[][] {
  const ys = gaps(units, 1).filter((g) => g.to - g.at >= 0.8 * lineSize);
  if (ys.length === 0) return xyCut(units, lineSize);
  const top = Math.min(...units.map((u) => u.bbox[1]));
  const bottom = Math.max(...units.map((u) => u.bbox[3]));
  const head = ys[0].at - top <= 2.5 * lineSize ? ys[0].at : -Infinity;
  const foot = bottom - ys[ys.length - 1].to <= 2.5 * lineSize ? ys[ys.length - 1].at : Infinity;
  const header = units.filter((u) => u.bbox[3] <= head);
  const footer = units.filter((u) => u.bbox[1] > foot);
  const body = units.filter((u) => u.bbox[3] > head && u.bbox[1] <= foot);
  if (body.length === 0) return xyCut(units, lineSize);
  return [...(header.length ? xyCut(header, lineSize) : []), ...xyCut(body, lineSize), ...(footer.length ? xyCut(footer, lineSize) : [])];
}

/**
 * Recursive XY-cut. A column gutter (a vertical gap with several lines on both sides) is cut
 * first, so columns are read whole; without one, the region is cut across. When a wide unit (a
 * title, an abstract, a table, a caption over columns) is what blocks a gutter, the cut goes just
 * above or below it, not at some other horizontal gap that happens to cross every column (aligned
 * paragraph breaks), which would read the columns band by band.
 */
function xyCut(units: Unit[], lineSize: number): Unit[][] {
  if (units.length <= 1) return [units];
  const x = gutter(units, lineSize);
  if (x !== null) return split(units, 0, x, lineSize);
  const ys = gaps(units, 1);
  if (ys.length === 0) return [units];
  const left = Math.min(...units.map((u) => u.bbox[0]));
  const right = Math.max(...units.map((u) => u.bbox[2]));
  const wide = units.filter((u) => u.bbox[2] - u.bbox[0] > 0.5 * (right - left));
  const narrow = units.filter((u) => !wide.includes(u));
  if (wide.length > 0 && narrow.length >= 2 && gutter(narrow, lineSize) !== null) {
    const beside = ys.filter((g) => wide.some((u) => g.to === u.bbox[1] || g.at === u.bbox[3]));
    if (beside.length > 0) return split(units, 1, beside.reduce((p, q) => (q.to - q.at > p.to - p.at ? q : p)).at, lineSize);
  }
  return split(units, 1, ys.reduce((p, q) => (q.to - q.at > p.to - p.at ? q : p)).at, lineSize);
}

function split(units: Unit[], axis: 0 | 1, at: number, lineSize: number): Unit[][] {
  const before = units.filter((u) => u.bbox[axis + 2] <= at);
  const after = units.filter((u) => u.bbox[axis + 2] > at);
  return [...xyCut(before, lineSize), ...xyCut(after, lineSize)];
}

/**
 * The widest vertical gap with several lines on both sides; a lone field beside a block is read by
 * rows. A narrow gap needs three lines a side: in justified narrow columns the word spaces are as
 * wide as the gutter and the detector boxes words apart, so two lines' gaps line up by chance
 * (then "quarter. The finance / department recorded steady" was read as two columns).
 */
function gutter(units: Unit[], lineSize: number): number | null {
  const xs = gaps(units, 0).filter((g) => g.to - g.at >= 0.3 * lineSize);
  xs.sort((p, q) => q.to - q.at - (p.to - p.at));
  for (const g of xs) {
    const side = (left: boolean) => units.filter((u) => u.bbox[2] <= g.at === left);
    const rows = g.to - g.at >= 2.5 * lineSize ? 0.8 : 1.8;
    const lines = (us: Unit[]) => us.length >= 2 && Math.max(...us.map((u) => cy(u.bbox))) - Math.min(...us.map((u) => cy(u.bbox))) >= rows * lineSize;
    if (lines(side(true)) && lines(side(false))) return g.at;
  }
  return null;
}

/** Empty bands between the units' projections on one axis (0 = x, 1 = y): from `at` to `to`. */
function gaps(units: Unit[], axis: 0 | 1): Array<{ at: number; to: number }> {
  if (units.length < 2) return [];
  const spans = units.map((u) => [u.bbox[axis], u.bbox[axis + 2]] as const).sort((p, q) => p[0] - q[0]);
  let end = spans[0][1];
  const out: Array<{ at: number; to: number }> = [];
  for (const [s, e] of spans.slice(1)) {
    if (s > end) out.push({ at: end, to: s });
    end = Math.max(end, e);
  }
  return out;
}
