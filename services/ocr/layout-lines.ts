// Lines → rows and segments for layout.ts: pieces of one baseline grouped, and joined where
// the gap is a word space rather than a column or a table cell.
import type { BBox } from '../../shared/bus/messages.ts';

export interface LayoutLine {
  text: string;
  /** [x1, y1, x2, y2] in page pixels. */
  bbox: BBox;
  confidence?: number;
  /** Text height in pixels when known better than the box height (font size, or a skewed box's own height). */
  size?: number;
}

/** A run of text on one baseline, read as a unit (a line of prose or one table cell). */
export interface Segment {
  text: string;
  bbox: BBox;
  size: number;
  chars: number;
  /** Width of the text in rough half-em units (CJK 2, space 0.6, others 1): width / units is the pitch. */
  units: number;
  /** Sum of confidence × characters over the characters that had a confidence (OCR, not text layers). */
  confSum: number;
  confChars: number;
}

export interface Row {
  segs: Segment[];
  bbox: BBox;
  size: number;
}

export function buildRows(lines: LayoutLine[], joinGap: number): Row[] {
  const segs: Segment[] = [];
  for (const l of lines) {
    // Edge spaces are kept until fragments are joined: " world" after "Hello" needs its space.
    const text = l.text.replace(/\s+/g, ' ');
    if (!text.trim()) continue;
    const [a, b, c, d] = l.bbox;
    const bbox: BBox = [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)];
    const size = l.size && l.size > 0 ? l.size : Math.max(1, bbox[3] - bbox[1]);
    const chars = [...text.trim()].length;
    const known = l.confidence !== undefined;
    segs.push({ text, bbox, size, chars, units: textUnits(text.trim()), confSum: known ? l.confidence! * chars : 0, confChars: known ? chars : 0 });
  }
  return groupRows(segs).map((r) => mergeRowFragments(r, joinGap));
}

/** Clusters segments whose vertical centres are within half a line of each other. */
export function groupRows(segs: Segment[]): Row[] {
  const sorted = [...segs].sort((p, q) => cy(p.bbox) - cy(q.bbox));
  const rows: Row[] = [];
  for (const s of sorted) {
    const row = rows.find((r) => Math.abs(cy(r.bbox) - cy(s.bbox)) < 0.5 * Math.min(r.size, s.size) && !r.segs.some((o) => stacked(o, s)));
    if (row) {
      row.segs.push(s);
      row.bbox = union(row.bbox, s.bbox);
      row.size = Math.max(row.size, s.size);
    } else rows.push({ segs: [s], bbox: s.bbox, size: s.size });
  }
  for (const r of rows) r.segs.sort((p, q) => p.bbox[0] - q.bbox[0]);
  return rows.sort((p, q) => p.bbox[1] - q.bbox[1]);
}

/**
 * Two lines one above the other (most of the narrower one's width shared) are not pieces of one
 * line. A row of a multi-column page gathers the lines of every column, and its box drifts down
 * where their baselines differ, until it takes in the next line of a column it already holds
 * (small type set close, as footnotes are): the two would be joined into one line. An accent or
 * a mark over a letter (narrower than its height) is a piece of its line.
 */
function stacked(a: Segment, b: Segment): boolean {
  const narrower = Math.min(a.bbox[2] - a.bbox[0], b.bbox[2] - b.bbox[0]);
  const shared = Math.min(a.bbox[2], b.bbox[2]) - Math.max(a.bbox[0], b.bbox[0]);
  return narrower > Math.max(a.size, b.size) && shared > 0.5 * narrower;
}

/** Joins pieces of one line (text-layer runs, split OCR boxes) unless a wide gap says column or cell. */
function mergeRowFragments(row: Row, joinGap: number): Row {
  const out: Segment[] = [];
  for (const s of row.segs) {
    const prev = out[out.length - 1];
    const size = prev ? Math.min(prev.size, s.size) : s.size;
    // A list marker set apart from its item (a bullet run, an OCR box of its own) is the item's
    // start, not a column of bullets beside a column of text, nor a table's first column.
    // Dashes and numbers also fill table cells (`–` for zero, row numbers): only at a row's start.
    const mark = prev?.text.trim() ?? '';
    const marker = prev && (BULLET.test(mark) || (out.length === 1 && MARKER.test(mark))) && s.bbox[0] - prev.bbox[2] <= 1.5 * Math.max(prev.size, s.size);
    if (prev && (marker || s.bbox[0] - prev.bbox[2] <= joinGap * size)) {
      const gap = s.bbox[0] - prev.bbox[2];
      out[out.length - 1] = {
        text: joinText(prev.text, s.text, gap > 0.15 * size),
        bbox: union(prev.bbox, s.bbox),
        size: Math.max(prev.size, s.size),
        chars: prev.chars + s.chars,
        units: prev.units + s.units + (gap > 0.15 * size ? 0.6 : 0),
        confSum: prev.confSum + s.confSum,
        confChars: prev.confChars + s.confChars,
      };
    } else out.push({ ...s });
  }
  return { ...row, segs: out.map((s) => ({ ...s, text: s.text.trim() })) };
}

/** A list item's marker on its own: a bullet, a dash, `1.`, `2)`, `(a)`, `iv.`. */
const BULLET = /^[•◦▪▫■□●○‣⁃∙]$/u;
const MARKER = /^(?:[*–—-]|\(?(?:\d{1,3}|[a-z]|[ivx]{1,5})[.)])$/u;

const CJK = /[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]/u;

function textUnits(text: string): number {
  let n = 0;
  for (const c of text) n += CJK.test(c) ? 2 : c === ' ' ? 0.6 : 1;
  return n;
}

/** CJK scripts are written without spaces; Latin words need one where a gap was seen. */
export function joinText(left: string, right: string, spaced = true): string {
  if (!left) return right;
  if (!right) return left;
  const l = [...left].at(-1)!;
  const r = [...right][0];
  if (/\s/.test(l) || /\s/.test(r)) return left + right;
  if (CJK.test(l) || CJK.test(r)) return left + right;
  if (/[A-Za-z]-$/.test(left) && /^[a-z]/.test(right)) return left + right; // hyphenated word
  return spaced ? `${left} ${right}` : left + right;
}

// ---------- geometry ----------

export function union(a: BBox, b: BBox): BBox {
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

export const cy = (b: BBox) => (b[1] + b[3]) / 2;

export function medianOf(xs: number[]): number {
  if (xs.length === 0) return 1;
  const s = [...xs].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

export function roundBox(b: BBox): BBox {
  return [Math.round(b[0]), Math.round(b[1]), Math.round(b[2]), Math.round(b[3])];
}

export function conf({ confSum, confChars }: { confSum: number; confChars: number }): { confidence?: number } {
  if (confChars === 0) return {};
  return { confidence: Math.min(1, Math.max(0, Math.round((confSum / confChars) * 1000) / 1000)) };
}
