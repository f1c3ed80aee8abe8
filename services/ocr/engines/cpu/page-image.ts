// Page image preparation for the CPU engine: decode once, normalise, scale for each model.
import sharp from 'sharp';
import { FolioError } from '../../../../shared/operations/errors.ts';
import type { RawImage } from './paddle.ts';

export interface Decoded {
  data: Buffer;
  width: number;
  height: number;
}

/**
 * Upright (EXIF, for raw camera JPEGs; rasterizer PNGs already are), alpha flattened onto white,
 * 3-channel sRGB (greyscale scans included).
 */
export async function decode(image: Uint8Array, maxPixels: number): Promise<Decoded> {
  try {
    const { data, info } = await sharp(image, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels}-channel image`);
    flattenShadows(data, info.width, info.height);
    darkenInk(data);
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new FolioError('FOLIO_ENGINE_REJECTED', `The page image cannot be read: ${(err as Error).message}`, undefined, { cause: err });
  }
}

/**
 * Maps ink grey (the level 70% of ink pixels are at or below) to black and paper (the 90th
 * percentile) to white, in place. Scans come with
 * grey, blurred strokes that the recogniser reads with spaces missing ("steadygrowth"); with the
 * ink darkened it reads them like clean pages. Clean renders (ink already black) are left alone,
 * as are dark or empty pages. Robust to how much of the page is ink, unlike a percentile stretch.
 */
function darkenInk(rgb: Buffer): void {
  const hist = new Uint32Array(256);
  for (let i = 1; i < rgb.length; i += 3 * 4) hist[rgb[i]]++; // green of every 4th pixel
  const total = hist.reduce((a, b) => a + b, 0);
  const paper = percentile(hist, 0, 255, total * 0.9);
  if (paper < 128) return;
  const inkMax = Math.floor(paper * 0.7);
  let inkCount = 0;
  for (let v = 0; v <= inkMax; v++) inkCount += hist[v];
  if (inkCount < total * 0.0005) return;
  const ink = percentile(hist, 0, inkMax, inkCount * 0.7);
  if (ink < 40) return;
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.max(0, Math.min(255, Math.round(((v - ink) * 255) / (paper - ink))));
  for (let i = 0; i < rgb.length; i++) rgb[i] = lut[rgb[i]];
}

const BLOCK = 8;

/**
 * Lifts shadows and uneven light to the page's paper level, in place. The paper brightness is
 * estimated per 8×8 block (its brightest pixel), spread over ±2 blocks (so bold strokes and
 * small dark areas do not count as shadow) and smoothed; a pixel under a darker estimate is
 * scaled up by paper / estimate. Without this a shadow across the left margin hid the starts of
 * every line there: darkenInk's levels are per page, and turned the shadowed paper into ink.
 * Pages without a shadow (no estimate below 85% of the paper level) are left exactly as they are.
 */
export function flattenShadows(rgb: Uint8Array, width: number, height: number): void {
  const bw = Math.ceil(width / BLOCK);
  const bh = Math.ceil(height / BLOCK);
  const peak = new Float32Array(bw * bh);
  for (let y = 0; y < height; y++) {
    const row = (y / BLOCK) | 0;
    for (let x = 0, p = y * width * 3 + 1; x < width; x++, p += 3) {
      const i = row * bw + ((x / BLOCK) | 0);
      if (rgb[p] > peak[i]) peak[i] = rgb[p]; // green: close to luminance
    }
  }
  // One 1-D pass of a (2r+1)-wide max or box filter along x or y, edges clamped; two make it 2-D.
  const pass = (src: Float32Array, r: number, op: 'max' | 'mean', alongX: boolean) => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        let v = 0;
        for (let d = -r; d <= r; d++) {
          const s = alongX ? src[y * bw + Math.min(bw - 1, Math.max(0, x + d))] : src[Math.min(bh - 1, Math.max(0, y + d)) * bw + x];
          v = op === 'max' ? Math.max(v, s) : v + s;
        }
        out[y * bw + x] = op === 'max' ? v : v / (2 * r + 1);
      }
    }
    return out;
  };
  const spread = (src: Float32Array, r: number, op: 'max' | 'mean') => pass(pass(src, r, op, true), r, op, false);
  const light = spread(spread(peak, 2, 'max'), 2, 'mean');
  const sorted = Float32Array.from(light).sort();
  const paper = sorted[Math.floor(sorted.length * 0.9)];
  if (paper < 128 || sorted[Math.floor(sorted.length * 0.02)] >= 0.85 * paper) return;
  // Gain per block, interpolated bilinearly between block centres.
  const gain = light.map((v) => (v >= 0.97 * paper || v < 24 ? 1 : paper / v));
  const at = (bx: number, by: number) => gain[Math.min(bh - 1, Math.max(0, by)) * bw + Math.min(bw - 1, Math.max(0, bx))];
  for (let y = 0; y < height; y++) {
    const fy = (y + 0.5) / BLOCK - 0.5;
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    for (let x = 0, p = y * width * 3; x < width; x++, p += 3) {
      const fx = (x + 0.5) / BLOCK - 0.5;
      const x0 = Math.floor(fx);
      const tx = fx - x0;
      const g = (at(x0, y0) * (1 - tx) + at(x0 + 1, y0) * tx) * (1 - ty) + (at(x0, y0 + 1) * (1 - tx) + at(x0 + 1, y0 + 1) * tx) * ty;
      if (g === 1) continue;
      for (let c = 0; c < 3; c++) rgb[p + c] = Math.min(255, Math.round(rgb[p + c] * g));
    }
  }
}

/** The value below which `rank` of the counts in hist[from..to] lie. */
function percentile(hist: Uint32Array, from: number, to: number, rank: number): number {
  let seen = 0;
  for (let v = from; v <= to; v++) {
    seen += hist[v];
    if (seen >= rank) return v;
  }
  return to;
}

/**
 * Shrinks (never enlarges) so the long side is at most `maxSide`, with both sides rounded to a
 * multiple of `multiple` (the detector needs 32). The aspect ratio may shift by a few pixels;
 * boxes are mapped back per axis, so that costs nothing.
 */
export async function scaled(page: Decoded, maxSide: number, multiple: number): Promise<RawImage> {
  return scaledBy(page, Math.min(1, maxSide / Math.max(page.width, page.height)), multiple);
}

/** The page at scale `s` (above 1 enlarges: small type for the detector), sides rounded as in scaled. */
export async function scaledBy(page: Decoded, s: number, multiple: number): Promise<RawImage> {
  const round = (n: number) => Math.max(multiple, Math.round((n * s) / multiple) * multiple);
  const width = round(page.width);
  const height = round(page.height);
  if (width === page.width && height === page.height) return page;
  const data = await sharp(page.data, { raw: { width: page.width, height: page.height, channels: 3 } })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { data, width, height };
}

/** The page turned clockwise by a quarter-turn multiple (a sideways or upside-down scan). */
export async function turned(page: Decoded, angle: 90 | 180 | 270): Promise<Decoded> {
  const { data, info } = await sharp(page.data, { raw: { width: page.width, height: page.height, channels: 3 } })
    .rotate(angle)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
