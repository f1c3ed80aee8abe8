// Detection of a large page in overlapping horizontal bands, so the detector's memory stays
// bounded however far the page is scaled up for small type (onnxruntime keeps its arena at the
// largest input it has seen: one 2800 × 1700 pass would hold ~0.5 GB more for the worker's life).
// Bands run the full width, so a level text line is never cut lengthwise; they overlap by more
// than a line is tall, so every line lies whole inside some band, and each line is kept from the
// one band whose middle part (its share of the overlaps) holds the line's centre.
import type { RawImage } from './line-crops.ts';
import type { Quad } from './line-boxes.ts';

export interface Band {
  /** Rows of the image the band covers: [top, bottom). */
  top: number;
  bottom: number;
  /** Rows whose lines this band keeps: [keepTop, keepBottom). */
  keepTop: number;
  keepBottom: number;
}

/**
 * Bands of an image `height` rows tall and `width` wide: as few as keep each under `maxPixels`
 * (but at least `overlap` × 3 rows tall), overlapping by `overlap` rows, with tops and heights
 * multiples of `multiple` (the detector's 32) where the image's height allows.
 */
export function bands(width: number, height: number, maxPixels: number, overlap: number, multiple = 32): Band[] {
  const round = (n: number) => Math.ceil(n / multiple) * multiple;
  const ov = round(overlap);
  const tall = Math.max(3 * ov, Math.floor(maxPixels / width / multiple) * multiple);
  if (height <= tall) return [{ top: 0, bottom: height, keepTop: 0, keepBottom: height }];
  const n = Math.ceil((height - ov) / (tall - ov));
  const step = round((height - ov) / n);
  const size = Math.min(height, step + ov);
  const out: Band[] = [];
  for (let i = 0; i < n; i++) {
    const top = i === n - 1 ? height - size : i * step;
    out.push({ top, bottom: top + size, keepTop: 0, keepBottom: 0 });
  }
  // Each band keeps up to the middle of its overlap with the next.
  for (let i = 0; i < n; i++) {
    out[i].keepTop = i === 0 ? 0 : out[i - 1].keepBottom;
    out[i].keepBottom = i === n - 1 ? height : Math.round((out[i + 1].top + out[i].bottom) / 2);
  }
  return out;
}

/** The band's rows of an RGB image, without copying. */
export function bandImage(img: RawImage, band: Band): RawImage {
  const row = img.width * 3;
  return { data: img.data.subarray(band.top * row, band.bottom * row), width: img.width, height: band.bottom - band.top };
}

/**
 * Boxes found band by band (in each band's own pixels) → boxes of the whole image, each line
 * once: from the band that keeps its centre.
 */
export function mergeBands(found: Array<{ band: Band; quads: Quad[] }>): Quad[] {
  const out: Quad[] = [];
  for (const { band, quads } of found) {
    for (const q of quads) {
      const cy = band.top + (q[0][1] + q[1][1] + q[2][1] + q[3][1]) / 4;
      if (cy >= band.keepTop && cy < band.keepBottom) out.push(q.map(([x, y]) => [x, y + band.top]) as Quad);
    }
  }
  return out;
}
