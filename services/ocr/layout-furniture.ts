// Page furniture on one page, by position, size and wording: running headers and footers,
// page numbers, "Downloaded from …" lines and notes set sideways in the margin. Repetition across
// pages is the assembler's evidence (services/assembler/furniture.ts); this is what one page shows.
import { isPageNumber } from '../../shared/document/furniture.ts';
import type { BBox } from '../../shared/bus/messages.ts';

export type Furniture = 'page_header' | 'page_footer' | 'page_number' | 'margin_note';
export { FURNITURE_TYPES } from '../../shared/document/furniture.ts';

/** Lines printed on every page by whoever delivered the file, not by the author. */
const STAMP = /^(?:downloaded|retrieved|accessed|printed)\s+(?:from|on|by)\b|^this content downloaded from\b/i;
/** Wording typical of running heads and feet: a page number at either end, a volume or issue, a copyright. */
const RUNNING = /^\d{1,5}\s|\s\d{1,5}$|\bvol\.|\bno\.\s*\d|\bpage\s+\d|©|\(c\)\s*\d{4}|\bcopyright\b|https?:\/\/|www\./i;

export const isStamp = (text: string) => STAMP.test(text.trim());

export interface Piece {
  bbox: BBox;
  text: string;
  size: number;
}

/**
 * A band of at most two rows at the top or bottom of the text, apart from the body by a clear
 * gap, is furniture when it reads as such: a page number, running-head wording, a stamp, pieces
 * far apart on one line (title left, date right), or type smaller than the body's. A
 * large line there is a title, not furniture.
 */
export function bandIsFurniture(band: Piece[], bodySize: number, pageWidth: number): boolean {
  if (band.length === 0) return false;
  const text = band.map((p) => p.text).join(' ');
  if ([...text].length > 200) return false;
  const size = Math.max(...band.map((p) => p.size));
  if (size > 1.3 * bodySize) return false;
  if (band.some((p) => isPageNumber(p.text) || isStamp(p.text) || RUNNING.test(p.text))) return true;
  // Pieces of one line far apart across the page: a running title at one side, a date or a number at the other.
  const cy = (p: Piece) => (p.bbox[1] + p.bbox[3]) / 2;
  const apart = band.some((p) => band.some((q) => q !== p && Math.abs(cy(p) - cy(q)) < 0.5 * size && q.bbox[0] - p.bbox[2] > 0.25 * pageWidth));
  if (apart) return true;
  return size < 0.9 * bodySize;
}

/** The type of one piece of a furniture band. */
export function furnitureType(text: string, atTop: boolean): Furniture {
  if (isPageNumber(text)) return 'page_number';
  return atTop ? 'page_header' : 'page_footer';
}

/** Set sideways: a tall, narrow box of several characters (the recogniser reads it turned). */
export function isSideways(p: Piece): boolean {
  const w = p.bbox[2] - p.bbox[0];
  const h = p.bbox[3] - p.bbox[1];
  return [...p.text.trim()].length >= 4 && h > 2.5 * w;
}
