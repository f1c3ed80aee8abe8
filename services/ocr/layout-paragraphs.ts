// Rows in reading order → paragraphs and headings for layout.ts. Lines join a paragraph when
// they follow with normal leading in the same size and pitch; a short line set larger (or with a
// wider pitch) than the body text is a heading.
import type { BBox, Block } from '../../shared/bus/messages.ts';
import { conf, joinText, medianOf, roundBox, type Row, type Segment } from './layout-lines.ts';
import { joinHyphenated, type Vocabulary } from './text-cleanup.ts';

export interface Paragraph {
  rows: Row[];
  bbox: BBox;
}

/** Pieces more than a line height apart: fields or cells, not one line of prose. */
function gappy(row: Row): boolean {
  return row.segs.some((s, i) => i > 0 && s.bbox[0] - row.segs[i - 1].bbox[2] > row.size);
}

/** Height and character pitch (width per unit): pitch tells a heading even on a blurred scan, whose boxes all grow taller. */
export interface Style {
  size: number;
  pitch?: number;
}

/** Pitch is only meaningful over enough characters; a number or a word alone says little. */
const MIN_PITCH_UNITS = 8;

function style(segs: Segment[], size: number): Style {
  const units = segs.reduce((n, s) => n + s.units, 0);
  const width = segs.reduce((n, s) => n + (s.bbox[2] - s.bbox[0]), 0);
  return { size, pitch: units >= MIN_PITCH_UNITS ? width / units : undefined };
}

const ratio = (a: number, b: number) => Math.max(a, b) / Math.min(a, b);

export function continuesParagraph(p: Paragraph, row: Row): boolean {
  const last = p.rows[p.rows.length - 1];
  const size = Math.max(last.size, row.size);
  const gap = row.bbox[1] - last.bbox[3];
  if (gap > 0.7 * size || gap < -0.3 * size) return false;
  if (gappy(last) || gappy(row)) return false; // a form line or table-like row, not prose
  // OCR box heights wobble by ±15% between lines of one paragraph; a heading differs by more.
  const para = style(
    p.rows.flatMap((r) => r.segs),
    medianOf(p.rows.map((r) => r.size)),
  );
  const next = style(row.segs, row.size);
  // Short lines ("entry.") have no ascenders or descenders to speak of: allow them more.
  if (ratio(para.size, next.size) > (next.pitch ? 1.3 : 1.5)) return false;
  if (para.pitch && next.pitch && ratio(para.pitch, next.pitch) > 1.3) return false;
  const overlap = Math.min(last.bbox[2], row.bbox[2]) - Math.max(last.bbox[0], row.bbox[0]);
  return overlap > 0.3 * Math.min(last.bbox[2] - last.bbox[0], row.bbox[2] - row.bbox[0]);
}

/** The size and pitch most characters are set in (tables excluded): the reference for headings. */
export function bodyStyle(rows: Row[]): Style {
  const segs = rows.flatMap((r) => r.segs);
  const size = weightedMedian(segs.map((s) => [s.size, s.chars]));
  const pitched = segs.filter((s) => s.units >= MIN_PITCH_UNITS);
  const pitch = pitched.length ? weightedMedian(pitched.map((s) => [(s.bbox[2] - s.bbox[0]) / s.units, s.units])) : undefined;
  return { size, pitch };
}

function weightedMedian(pairs: Array<[value: number, weight: number]>): number {
  const sorted = [...pairs].sort((p, q) => p[0] - q[0]);
  const total = sorted.reduce((n, [, w]) => n + w, 0);
  let seen = 0;
  for (const [v, w] of sorted) {
    seen += w;
    if (seen >= total / 2) return v;
  }
  return sorted.length ? sorted[sorted.length - 1][0] : 1;
}

/** 1 = title (#), 2 = heading (##), 0 = body text. */
function headingLevel(p: Paragraph, chars: number, body: Style): number {
  if (p.rows.length > 3 || chars > 150) return 0;
  const own = style(
    p.rows.flatMap((r) => r.segs),
    medianOf(p.rows.map((r) => r.size)),
  );
  const bySize = own.size / body.size;
  const byPitch = own.pitch && body.pitch ? own.pitch / body.pitch : 1;
  if (bySize >= 1.4 || byPitch >= 1.6) return 1;
  if (bySize >= 1.25 || byPitch >= 1.3) return 2;
  return 0;
}

export function paragraphBlock(p: Paragraph, body: Style, plain: boolean, vocab?: Vocabulary): { block: Block; markdown: string } {
  const text = p.rows
    // Separate segments of one row had a wide gap between them: a space even in CJK text.
    .map((r) => r.segs.map((s) => s.text).join(' '))
    .reduce((acc, line) => joinHyphenated(acc, line, vocab) ?? joinText(acc, line), '');
  const segs = p.rows.flatMap((r) => r.segs);
  const chars = segs.reduce((n, s) => n + s.chars, 0);
  const level = headingLevel(p, chars, body);
  const type = level === 1 ? 'title' : level === 2 ? 'sub_title' : 'text';
  const markdown = plain ? text : level ? `${'#'.repeat(level)} ${text}` : text.replace(/^(#+\s)/, '\\$1');
  const confSum = segs.reduce((n, s) => n + s.confSum, 0);
  const confChars = segs.reduce((n, s) => n + s.confChars, 0);
  // The lines as read (hyphens and all), for outputs that place text by its box (PDF, hOCR, ALTO).
  const lines = segs.map((s) => ({ text: s.text, bbox: roundBox(s.bbox), ...conf(s) }));
  return { block: { type, bbox: roundBox(p.bbox), text, ...conf({ confSum, confChars }), lines }, markdown };
}
