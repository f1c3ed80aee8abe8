// A skewed scan turned level before the boxes that are read are found. On a page turned ~1°
// (faa_amt_7-45-scan), the detector's line boxes of adjacent columns touched across narrow
// gutters and were read as one line (CER 71% where the level page reads 6.5%, with every
// character found): levelled first, the columns stay apart as on a clean page.
import sharp from 'sharp';
import type { Decoded } from './page-image.ts';
import type { Point } from './page-geometry.ts';

/**
 * Skews under this (radians, ~0.2°) are left alone: a line across a whole 200-dpi page drifts
 * under 6 px, less than a gutter, and turning the image costs a resample of the page.
 */
export const MIN_SKEW = 0.0035;

export interface Levelled {
  page: Decoded;
  /** A point of the levelled image → the same point of the page as it came. */
  toPage: (p: Point) => Point;
}

/**
 * The page turned by −`angle` radians (the skew, clockwise positive as page-geometry's
 * skewAngle gives it) about its centre, onto a canvas grown to hold all of it, new corners
 * filled with paper.
 */
export async function levelled(page: Decoded, angle: number): Promise<Levelled> {
  const { data, info } = await sharp(page.data, { raw: { width: page.width, height: page.height, channels: 3 } })
    .rotate((-angle * 180) / Math.PI, { background: '#ffffff' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const cx = page.width / 2;
  const cy = page.height / 2;
  const ox = info.width / 2;
  const oy = info.height / 2;
  // The inverse of the image's turn: by +angle about the centres.
  const toPage = ([x, y]: Point): Point => [cx + (x - ox) * cos - (y - oy) * sin, cy + (x - ox) * sin + (y - oy) * cos];
  return { page: { data, width: info.width, height: info.height }, toPage };
}
