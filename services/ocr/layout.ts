// Recognised lines (from OCR or a PDF text layer) → reading-ordered Markdown and blocks.
// Pure geometry, no I/O: the same code serves the CPU engine and the text-layer path.
//
// Stages: fragments on one baseline become rows and segments (accents composed); aligned
// multi-segment rows become tables; layout-order.ts gives the reading order and marks page
// furniture, column notes and sidebars; consecutive rows of similar size and small leading
// become paragraphs or headings, line-end hyphens joined where the word is whole.
import type { Block } from '../../shared/bus/messages.ts';
import { buildRows, conf, cy, groupRows, medianOf, roundBox, union, type LayoutLine, type Row, type Segment } from './layout-lines.ts';
import { bodyStyle, continuesParagraph, paragraphBlock, type Paragraph } from './layout-paragraphs.ts';
import { findTables } from './layout-table.ts';
import { FURNITURE_TYPES } from './layout-furniture.ts';
import { readingOrder, type Leaf, type Unit } from './layout-order.ts';
import { composeAccents, vocabularyOf } from './text-cleanup.ts';

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
  /**
   * Page furniture (running heads, footers, page numbers, margin notes) is typed in the blocks
   * either way. `keep` (default) writes it in the Markdown too, header first and footer last: a
   * page result carries everything, and the assembler leaves furniture out of the document's
   * Markdown as the job asks (JobOptions.furniture, `drop` by default, as docling does).
   */
  furniture?: 'drop' | 'keep';
}

export interface LayoutResult {
  markdown: string;
  blocks: Block[];
}

/**
 * Sees every call's input before it is laid out: bench/layout-replay.ts caches the lines a real
 * page gives, to iterate on layout without reading the page again. Unset in the services.
 */
export const layoutTap: { input?: (lines: LayoutLine[], opts: LayoutOptions) => void } = {};

export function layoutPage(lines: LayoutLine[], opts: LayoutOptions = {}): LayoutResult {
  layoutTap.input?.(lines, opts);
  const rows = buildRows(lines, opts.joinGap ?? 0.4);
  if (rows.length === 0) return { markdown: '', blocks: [] };
  for (const r of rows) for (const s of r.segs) s.text = composeAccents(s.text);
  const { tables, rest } = findTables(rows);
  const units: Unit[] = [
    ...rest.flatMap((r) => r.segs.map((seg): Unit => ({ kind: 'seg', seg, bbox: seg.bbox }))),
    ...tables.map((table): Unit => ({ kind: 'table', table, bbox: table.bbox })),
  ];
  const body = bodyStyle(rest);
  const vocab = vocabularyOf(rest.flatMap((r) => r.segs.map((s) => s.text)));
  const keep = opts.furniture !== 'drop';
  const blocks: Block[] = [];
  const md: string[] = [];
  let para: Paragraph | null = null;
  let role: Leaf['role'];
  const flush = () => {
    if (!para) return;
    const b = paragraphBlock(para, body, opts.plain ?? false, vocab);
    if (role === 'footnote' && b.block.type === 'text') b.block.type = 'footnote';
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
  for (const leaf of readingOrder(units, lineSize, body.size)) {
    if (leaf.role !== role) flush();
    role = leaf.role;
    if (role && FURNITURE_TYPES.includes(role)) {
      // Furniture stands alone, as printed: no paragraphs, no heading marks.
      for (const u of leaf.units) {
        const text = u.kind === 'seg' ? u.seg.text : u.table.cells.map((r) => r.filter(Boolean).join('\t')).join('\n');
        blocks.push({ type: role, bbox: roundBox(u.bbox), text, ...conf(u.kind === 'seg' ? u.seg : u.table) });
        if (keep) md.push(text);
      }
      continue;
    }
    // Units that no cut separates overlap: read them top to bottom, tables as wholes.
    let pending: Segment[] = [];
    const drain = () => {
      groupRows(pending).forEach(addRow);
      pending = [];
    };
    for (const u of [...leaf.units].sort((p, q) => cy(p.bbox) - cy(q.bbox))) {
      if (u.kind === 'seg') {
        pending.push(u.seg);
        continue;
      }
      drain();
      flush();
      const text = opts.plain ? u.table.cells.map((r) => r.filter(Boolean).join(' ')).join('\n') : u.table.markdown;
      blocks.push({ type: 'table', bbox: roundBox(u.table.bbox), text, ...conf(u.table), lines: u.table.lines });
      md.push(text);
    }
    drain();
  }
  flush();
  return { markdown: md.join('\n\n'), blocks };
}
