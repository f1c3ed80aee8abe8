// How big the page's type is, and so at what scale the detector must see the page. The detector
// (PP-OCRv4's DB net) loses characters under ~8 px tall: at the fixed 960 px long side, a dense
// table in 7-point type (fbi_nics: 11 px digits at 200 dpi, 3.7 px after scaling) came back almost
// empty. Measured on the ink itself, not on a first detection, whose boxes miss the very lines
// that are too small.
import sharp from 'sharp';
import type { RawImage } from './line-crops.ts';

/** The image at half its size (each pixel the mean of four), for inkBlobs and typeHeight. */
export async function inkImage(img: RawImage): Promise<RawImage> {
  const width = Math.max(1, Math.round(img.width / 2));
  const height = Math.max(1, Math.round(img.height / 2));
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  return { data, width, height };
}

export interface Blob {
  /** Bounding box, inclusive pixel coordinates. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Connected dark areas (green channel under `threshold`, 8-connected) of an RGB image, found run
 * by run: each row's ink runs join the runs of the row above that they touch. Linear in pixels.
 */
export function inkBlobs(img: RawImage, threshold = 128): Blob[] {
  const { data, width, height } = img;
  const parent: number[] = [];
  const boxes: Blob[] = [];
  const find = (i: number) => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  const union = (a: number, b: number) => {
    a = find(a);
    b = find(b);
    if (a === b) return;
    if (b < a) [a, b] = [b, a];
    parent[b] = a;
    const A = boxes[a];
    const B = boxes[b];
    A.x0 = Math.min(A.x0, B.x0);
    A.y0 = Math.min(A.y0, B.y0);
    A.x1 = Math.max(A.x1, B.x1);
    A.y1 = Math.max(A.y1, B.y1);
  };
  // Runs of the previous and current row: [start, end (inclusive), label] triples.
  let prev: number[] = [];
  for (let y = 0; y < height; y++) {
    const cur: number[] = [];
    let p = y * width * 3 + 1;
    let j = 0; // first run of `prev` that may still touch
    for (let x = 0; x < width;) {
      if (data[p] >= threshold) {
        x++;
        p += 3;
        continue;
      }
      const start = x;
      while (x < width && data[p] < threshold) {
        x++;
        p += 3;
      }
      const end = x - 1;
      const label = parent.length;
      parent.push(label);
      boxes.push({ x0: start, y0: y, x1: end, y1: y });
      while (j < prev.length && prev[j + 1] < start - 1) j += 3;
      for (let k = j; k < prev.length && prev[k] <= end + 1; k += 3) union(label, prev[k + 2]);
      cur.push(start, end, label);
    }
    prev = cur;
  }
  const out: Blob[] = [];
  for (let i = 0; i < parent.length; i++) if (parent[i] === i) out.push(boxes[i]);
  return out;
}

/**
 * The height (pixels of `img`) of the page's body type: the median height of blobs shaped like
 * characters or short runs of touching characters. Rules, frames, photos and specks are not
 * characters: blobs under 3 px tall (specks, full stops), over a tenth of the page tall, or much
 * wider than tall or taller than wide do not count. 0 when the page has too few to judge (blank,
 * all pictures). Measure on the page at half its resolution (inkImage): grain and scan noise
 * average out there, where at full resolution they made blobs of their own.
 */
export function typeHeight(img: RawImage, blobs = inkBlobs(img)): number {
  const limit = Math.max(8, img.height / 10);
  const hs = blobs
    .map((b) => ({ w: b.x1 - b.x0 + 1, h: b.y1 - b.y0 + 1 }))
    .filter(({ w, h }) => h >= 3 && h <= limit && w <= 6 * h && h <= 3 * w)
    .map(({ h }) => h)
    .sort((a, b) => a - b);
  if (hs.length < 20) return 0;
  return hs[Math.floor(hs.length / 2)];
}

/**
 * Type height (as typeHeight measures it on inkImage, in page pixels) at which the detector finds
 * the lines of a dense table, in the pixels of the image it sees. Swept on fbi_nics (7-point
 * table, 8.2 px at 200 dpi): CER 93% at 2.8 px, 35% at 4.7, 6.3% at 6.2, 3.1% at 8.2. Prose reads
 * as well at 4.6 px as at 7.6 (fedreg_p1: 3.1% and 3.3%), so the scale is raised only where the
 * first look missed text.
 */
export const DETECT_TYPE = 9;

/**
 * More than this share of the type-sized ink unread by the first look's boxes: it missed text.
 * Measured at the configured 960 px: at most 1.2% on 23 of the 25 real pages and on the 13
 * benchmark pages; fbi_nics 76% (lines not found), senate_exp 13% (lines run together).
 */
export const MISSED_INK = 0.08;

/**
 * The share of type-sized blobs (half to twice `type` tall) that the boxes (quads in the blobs'
 * pixels, taken by their bounding boxes) do not read: centre outside every box, or inside a box
 * over 1.8 × as tall as the median box whose own blobs are type-sized (two or more lines run
 * together; a heading's box is as tall, but its letters are too).
 */
export function missedInk(blobs: Blob[], type: number, boxes: Array<Array<[number, number]>>, width: number, height: number): number {
  const CELL = 4;
  const gw = Math.ceil(width / CELL);
  const gh = Math.ceil(height / CELL);
  // Which box covers each cell (its index + 1; 0: none). Where boxes overlap the last one wins.
  const cover = new Int32Array(gw * gh);
  const acrossOf = (q: Array<[number, number]>) => Math.min(Math.hypot(q[3][0] - q[0][0], q[3][1] - q[0][1]), Math.hypot(q[1][0] - q[0][0], q[1][1] - q[0][1]));
  const sides = boxes.map(acrossOf).sort((a, b) => a - b);
  const usual = sides[Math.floor(sides.length / 2)] ?? 0;
  const tall: boolean[] = [];
  boxes.forEach((q, i) => {
    const x0 = Math.max(0, Math.floor(Math.min(...q.map((p) => p[0])) / CELL));
    const x1 = Math.min(gw - 1, Math.floor(Math.max(...q.map((p) => p[0])) / CELL));
    const y0 = Math.max(0, Math.floor(Math.min(...q.map((p) => p[1])) / CELL));
    const y1 = Math.min(gh - 1, Math.floor(Math.max(...q.map((p) => p[1])) / CELL));
    tall.push(acrossOf(q) > 1.8 * usual);
    for (let y = y0; y <= y1; y++) cover.fill(i + 1, y * gw + x0, y * gw + x1 + 1);
  });
  const sized = blobs.filter((b) => {
    const h = b.y1 - b.y0 + 1;
    return h >= type / 2 && h <= type * 2 && b.x1 - b.x0 + 1 <= 6 * h;
  });
  const boxOf = sized.map((b) => cover[(((b.y0 + b.y1) / 2 / CELL) | 0) * gw + (((b.x0 + b.x1) / 2 / CELL) | 0)]);
  // Blobs of all sizes per tall box: its letters' median height tells a heading from run-together lines.
  const inTall = new Map<number, number[]>();
  for (const b of blobs) {
    const k = cover[(((b.y0 + b.y1) / 2 / CELL) | 0) * gw + (((b.x0 + b.x1) / 2 / CELL) | 0)];
    if (k && tall[k - 1]) (inTall.get(k) ?? inTall.set(k, []).get(k)!).push(b.y1 - b.y0 + 1);
  }
  const merged = new Set<number>();
  for (const [k, hs] of inTall) {
    hs.sort((a, b) => a - b);
    if (hs[Math.floor(hs.length / 2)] <= 1.4 * type) merged.add(k);
  }
  if (sized.length === 0) return 0;
  return boxOf.filter((k) => k === 0 || merged.has(k)).length / sized.length;
}

/**
 * The scale (of the page's own pixels) to detect at: the configured one (`base`) unless the
 * first look missed text (`missed`, from missedInk) and the type (`typeHeightPx`, page pixels)
 * needs more to reach DETECT_TYPE; up to `max` (small type on a 144-dpi render is enlarged).
 * Scales under 1.15 × base are not worth a second detection: `base` is kept.
 */
export function detectionScale(typeHeightPx: number, missed: number, base: number, max = 2): number {
  if (!(typeHeightPx > 0) || missed <= MISSED_INK) return base;
  const need = Math.min(max, DETECT_TYPE / typeHeightPx);
  return need > 1.15 * base ? need : base;
}
