// One page through the CPU engine: decode and scale with sharp, detect and read lines with
// PaddleOCR, map boxes back to page pixels, lay the lines out as Markdown and blocks.
import sharp from 'sharp';
import { FolioError } from '../../../../shared/errors.ts';
import type { BBox } from '../../../../shared/messages.ts';
import type { EngineOutput } from '../../engine.ts';
import { layoutPage } from '../../layout.ts';
import type { Paddle, RawImage } from './paddle.ts';
import type { PageJob, WorkerInit } from './protocol.ts';

interface Decoded {
  data: Buffer;
  width: number;
  height: number;
}

/** Thrown when the page was called off: the caller has already given up on it. */
export class Cancelled extends Error {}

export async function recognizePage(paddle: Paddle, job: PageJob, opts: WorkerInit, cancelled: () => boolean = () => false): Promise<EngineOutput> {
  const stop = () => {
    if (cancelled()) throw new Cancelled();
  };
  const page = await decode(job.image, opts.maxPixels);
  stop();
  const [det, rec] = await Promise.all([scaled(page, opts.detSide, 32), scaled(page, opts.recSide, 1)]);
  const found = await paddle.run(det, rec, stop);
  // Report boxes in the page's declared size (the rasterizer's), which the decoded image should equal.
  const width = job.width ?? page.width;
  const height = job.height ?? page.height;
  const sx = width / rec.width;
  const sy = height / rec.height;
  const quads = found.map((l) => l.quad.map(([x, y]) => [x * sx, y * sy] as Point));
  // Layout reads a skewed scan in its own frame, where lines are level and their boxes tight.
  const level = rotation(-skewAngle(quads), width, height);
  const lines = found.map((l, i) => ({ text: l.text, confidence: l.confidence, bbox: boxOf(quads[i].map(level)), size: lineHeight(quads[i]) }));
  const { markdown, blocks } = layoutPage(lines, { joinGap: -Infinity, plain: job.task === 'free' });
  const back = rotation(skewAngle(quads), width, height);
  for (const b of blocks) b.bbox = clampBox(boxOf(corners(b.bbox).map(back)), width, height);
  const raw = JSON.stringify(found.map((l, i) => ({ text: l.text, bbox: roundBox(boxOf(quads[i])), confidence: Math.round(l.confidence * 1000) / 1000 })));
  return { engine: 'cpu', markdown, blocks, raw };
}

/**
 * Upright (EXIF, for raw camera JPEGs; rasterizer PNGs already are), alpha flattened onto white,
 * 3-channel sRGB (greyscale scans included).
 */
async function decode(image: Uint8Array, maxPixels: number): Promise<Decoded> {
  try {
    const { data, info } = await sharp(image, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels}-channel image`);
    darkenInk(data);
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new FolioError('FOLIO_ENGINE_REJECTED', `The page image cannot be read: ${(err as Error).message}`, undefined, { cause: err });
  }
}

/**
 * Maps the page's typical ink grey to black and its paper to white, in place. Scans come with
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
async function scaled(page: Decoded, maxSide: number, multiple: number): Promise<RawImage> {
  const s = Math.min(1, maxSide / Math.max(page.width, page.height));
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

type Point = [number, number];

/** Median slope of the long lines' top edges; 0 when too few lines or too small to matter. */
function skewAngle(quads: Point[][]): number {
  const angles = quads
    .filter((q) => Math.hypot(q[1][0] - q[0][0], q[1][1] - q[0][1]) > 4 * lineHeight(q))
    .map((q) => Math.atan2(q[1][1] - q[0][1], q[1][0] - q[0][0]))
    .sort((a, b) => a - b);
  if (angles.length < 3) return 0;
  const a = angles[Math.floor(angles.length / 2)];
  return Math.abs(a) < 0.002 || Math.abs(a) > 0.2 ? 0 : a;
}

function rotation(angle: number, width: number, height: number): (p: Point) => Point {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const cx = width / 2;
  const cy = height / 2;
  return ([x, y]) => [cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos];
}

/** The rotated box's own height: a skewed line's axis-aligned box is much taller than its text. */
function lineHeight(q: Point[]): number {
  return (Math.hypot(q[3][0] - q[0][0], q[3][1] - q[0][1]) + Math.hypot(q[2][0] - q[1][0], q[2][1] - q[1][1])) / 2;
}

const boxOf = (pts: Point[]): BBox => [
  Math.min(...pts.map((p) => p[0])),
  Math.min(...pts.map((p) => p[1])),
  Math.max(...pts.map((p) => p[0])),
  Math.max(...pts.map((p) => p[1])),
];
const corners = (b: BBox): Point[] => [[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]];
const roundBox = (b: BBox): BBox => b.map((v) => Math.round(v)) as BBox;
const clampBox = (b: BBox, w: number, h: number): BBox =>
  roundBox([Math.max(0, b[0]), Math.max(0, b[1]), Math.min(w, b[2]), Math.min(h, b[3])]);
