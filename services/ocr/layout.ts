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
  for (const leaf of xyCut(units, medianOf(rows.map((r) => r.size)))) {
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

/** Recursive XY-cut at the widest whitespace gap: a column gutter wins over line spacing. */
function xyCut(units: Unit[], lineSize: number): Unit[][] {
  if (units.length <= 1) return [units];
  const y = widestGap(units, 1);
  const x = widestGap(units, 0);
  const useX = x && x.width >= 0.3 * lineSize && (!y || x.width > y.width) && spansRows(units, x.at);
  const cut = useX ? x : y;
  if (!cut) return [units];
  const axis = useX ? 0 : 1;
  const before = units.filter((u) => u.bbox[axis + 2] <= cut.at);
  const after = units.filter((u) => u.bbox[axis + 2] > cut.at);
  return [...xyCut(before, lineSize), ...xyCut(after, lineSize)];
}

/** Columns hold several lines on both sides; a lone field beside a block is read by rows. */
function spansRows(units: Unit[], at: number): boolean {
  const side = (left: boolean) => units.filter((u) => u.bbox[2] <= at === left);
  return widestGap(side(true), 1) !== null && widestGap(side(false), 1) !== null;
}

/** The widest empty band between the units' projections on one axis (0 = x, 1 = y). */
function widestGap(units: Unit[], axis: 0 | 1): { at: number; width: number } | null {
  if (units.length < 2) return null;
  const spans = units.map((u) => [u.bbox[axis], u.bbox[axis + 2]] as const).sort((p, q) => p[0] - q[0]);
  let end = spans[0][1];
  let best: { at: number; width: number } | null = null;
  for (const [s, e] of spans.slice(1)) {
    if (s > end && (!best || s - end > best.width)) best = { at: end, width: s - end };
    end = Math.max(end, e);
  }
  return best;
}
