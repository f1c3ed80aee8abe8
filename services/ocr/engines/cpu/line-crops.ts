// A detected line box → the recogniser's input: the box sampled straight from the page image to
// the model's height (one pass: no per-line copy of the page, no intermediate resize), table
// rules at its edges painted out, and batches of similar widths packed into one tensor.
import type { Quad } from './line-boxes.ts';

export interface RawImage {
  /** RGB, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
}

export interface LineCrop {
  /** RGB, `height` rows of `width` pixels. */
  data: Uint8Array;
  width: number;
  height: number;
}

/** Box length along and across its text; across > 1.5 × along is a vertical line (read turned). */
export function boxSides(q: Quad): { along: number; across: number } {
  const d = (a: [number, number], b: [number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1]);
  return { along: Math.max(d(q[0], q[1]), d(q[3], q[2])), across: Math.max(d(q[0], q[3]), d(q[1], q[2])) };
}

/**
 * Samples the quad (corners clockwise from top-left) to `height` rows, width in proportion. A box
 * 1.5× taller than wide is turned a quarter turn counter-clockwise first, as PaddleOCR does
 * (vertical text reads top to bottom). Bilinear, averaged over up to 3×3 sub-samples when
 * shrinking, so thin strokes of large text survive.
 */
export function cropLine(img: RawImage, q: Quad, height: number, stretch = 1, separable = true): LineCrop {
  const { along, across } = boxSides(q);
  const turned = across >= 1.5 * along;
  // Output axes: u runs along the text as read, v across it.
  const [o, uEnd, vEnd] = turned ? [q[1], q[2], q[0]] : [q[0], q[1], q[3]];
  const lenU = turned ? across : along;
  const lenV = turned ? along : across;
  const width = Math.max(8, Math.round((lenU * height * stretch) / Math.max(1, lenV)));
  const ux = (uEnd[0] - o[0]) / width;
  const uy = (uEnd[1] - o[1]) / width;
  const vx = (vEnd[0] - o[0]) / height;
  const vy = (vEnd[1] - o[1]) / height;
  const k = Math.max(1, Math.min(3, Math.round(lenV / height)));
  // Level boxes (nearly all on a straight page) are enlarged in two 1-D passes: 8 taps a pixel, not 16.
  // (OpenCV's 90° boxes come with cos 90° ≈ 6e-17 in their corners: level to 1e-6 px per px.)
  if (separable && k === 1 && Math.abs(uy) < 1e-6 && Math.abs(vx) < 1e-6 && ux > 0 && vy > 0) return cropLevel(img, o[0], o[1], ux, vy, width, height);
  const out = new Uint8Array(width * height * 3);
  const { data, width: W, height: H } = img;
  if (k === 1) {
    cropCubic(data, W, H, o[0], o[1], ux, uy, vx, vy, out, width, height);
    return { data: out, width, height };
  }
  const px = new Float64Array(3);
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sv = 0; sv < k; sv++) {
        for (let su = 0; su < k; su++) {
          const fu = u + (su + 0.5) / k;
          const fv = v + (sv + 0.5) / k;
          sample(data, W, H, o[0] + fu * ux + fv * vx - 0.5, o[1] + fu * uy + fv * vy - 0.5, px);
          r += px[0];
          g += px[1];
          b += px[2];
        }
      }
      const n = k * k;
      const i = (v * width + u) * 3;
      out[i] = Math.round(r / n);
      out[i + 1] = Math.round(g / n);
      out[i + 2] = Math.round(b / n);
    }
  }
  return { data: out, width, height };
}

/**
 * Bicubic samples of a turned (skewed or vertical) box, one per output pixel: `cubic` inlined,
 * with the same arithmetic in the same order (identical bytes), edge clamping only where the
 * 4×4 taps leave the image.
 */
function cropCubic(
  data: Uint8Array,
  W: number,
  H: number,
  ox: number,
  oy: number,
  ux: number,
  uy: number,
  vx: number,
  vy: number,
  out: Uint8Array,
  width: number,
  height: number,
): void {
  const w = wts;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const fu = u + 0.5;
      const fv = v + 0.5;
      const x = ox + fu * ux + fv * vx - 0.5;
      const y = oy + fu * uy + fv * vy - 0.5;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      keys(x - x0, w, 0);
      keys(y - y0, w, 4);
      let r = 0;
      let g = 0;
      let b = 0;
      const interior = x0 >= 1 && y0 >= 1 && x0 + 2 < W && y0 + 2 < H;
      for (let j = 0; j < 4; j++) {
        const yy = interior ? y0 - 1 + j : Math.min(H - 1, Math.max(0, y0 - 1 + j));
        const wy = w[4 + j];
        for (let i = 0; i < 4; i++) {
          const xx = interior ? x0 - 1 + i : Math.min(W - 1, Math.max(0, x0 - 1 + i));
          const wt = wy * w[i];
          const p = (yy * W + xx) * 3;
          r += data[p] * wt;
          g += data[p + 1] * wt;
          b += data[p + 2] * wt;
        }
      }
      const o = (v * width + u) * 3;
      out[o] = Math.round(Math.min(255, Math.max(0, r)));
      out[o + 1] = Math.round(Math.min(255, Math.max(0, g)));
      out[o + 2] = Math.round(Math.min(255, Math.max(0, b)));
    }
  }
}

/**
 * cropLine for a box whose edges run along the image axes: the same bicubic samples (edges
 * replicated, clamped to 0…255 after both passes), computed as a horizontal pass over the rows
 * the box touches, then a vertical one.
 */
function cropLevel(img: RawImage, x0: number, y0: number, ux: number, vy: number, width: number, height: number): LineCrop {
  const { data, width: W, height: H } = img;
  const colAt = new Int32Array(width * 4);
  const colW = new Float32Array(width * 4);
  for (let u = 0; u < width; u++) {
    const x = x0 + (u + 0.5) * ux - 0.5;
    const xi = Math.floor(x);
    keys(x - xi, wts, 0);
    for (let i = 0; i < 4; i++) {
      colAt[u * 4 + i] = Math.min(W - 1, Math.max(0, xi - 1 + i)) * 3;
      colW[u * 4 + i] = wts[i];
    }
  }
  const rowAt = new Int32Array(height * 4);
  const rowW = new Float32Array(height * 4);
  let top = H;
  let bottom = 0;
  for (let v = 0; v < height; v++) {
    const y = y0 + (v + 0.5) * vy - 0.5;
    const yi = Math.floor(y);
    keys(y - yi, wts, 4);
    for (let j = 0; j < 4; j++) {
      const yy = Math.min(H - 1, Math.max(0, yi - 1 + j));
      rowAt[v * 4 + j] = yy;
      rowW[v * 4 + j] = wts[4 + j];
      top = Math.min(top, yy);
      bottom = Math.max(bottom, yy);
    }
  }
  // Horizontal pass: the source rows top..bottom, resampled to the crop's width.
  const rows = bottom - top + 1;
  // Reused across crops (every element used is written first): a fresh one per line kept the collector busy.
  if (levelScratch.length < rows * width * 3) levelScratch = new Float32Array(Math.ceil(rows * width * 3 * 1.25));
  const tmp = levelScratch;
  for (let r = 0; r < rows; r++) {
    const src = (top + r) * W * 3;
    const dst = r * width * 3;
    for (let u = 0; u < width; u++) {
      let a = 0;
      let b = 0;
      let c = 0;
      for (let i = 0; i < 4; i++) {
        const p = src + colAt[u * 4 + i];
        const w = colW[u * 4 + i];
        a += data[p] * w;
        b += data[p + 1] * w;
        c += data[p + 2] * w;
      }
      tmp[dst + u * 3] = a;
      tmp[dst + u * 3 + 1] = b;
      tmp[dst + u * 3 + 2] = c;
    }
  }
  const out = new Uint8Array(width * height * 3);
  const line = width * 3;
  for (let v = 0; v < height; v++) {
    const r0 = (rowAt[v * 4] - top) * line;
    const r1 = (rowAt[v * 4 + 1] - top) * line;
    const r2 = (rowAt[v * 4 + 2] - top) * line;
    const r3 = (rowAt[v * 4 + 3] - top) * line;
    const w0 = rowW[v * 4];
    const w1 = rowW[v * 4 + 1];
    const w2 = rowW[v * 4 + 2];
    const w3 = rowW[v * 4 + 3];
    const dst = v * line;
    for (let i = 0; i < line; i++) {
      const x = tmp[r0 + i] * w0 + tmp[r1 + i] * w1 + tmp[r2 + i] * w2 + tmp[r3 + i] * w3;
      out[dst + i] = x <= 0 ? 0 : x >= 255 ? 255 : Math.round(x);
    }
  }
  return { data: out, width, height };
}

const wts = new Float64Array(8);
let levelScratch = new Float32Array(0);
/** Keys cubic weights (a = −0.5) for the 4 taps around fractional offset t, into w[at..at+3]. */
function keys(t: number, w: Float64Array, at: number): void {
  const t2 = t * t;
  const t3 = t2 * t;
  w[at] = -0.5 * t3 + t2 - 0.5 * t;
  w[at + 1] = 1.5 * t3 - 2.5 * t2 + 1;
  w[at + 2] = -1.5 * t3 + 2 * t2 + 0.5 * t;
  w[at + 3] = 0.5 * t3 - 0.5 * t2;
}

/** Bilinear sample at (x, y), edges replicated. */
function sample(data: Uint8Array, W: number, H: number, x: number, y: number, out: Float64Array): void {
  const cx = Math.min(W - 1, Math.max(0, x));
  const cy = Math.min(H - 1, Math.max(0, y));
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(W - 1, x0 + 1);
  const y1 = Math.min(H - 1, y0 + 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const a = (y0 * W + x0) * 3;
  const b = (y0 * W + x1) * 3;
  const c = (y1 * W + x0) * 3;
  const d = (y1 * W + x1) * 3;
  for (let ch = 0; ch < 3; ch++) {
    const top = data[a + ch] + (data[b + ch] - data[a + ch]) * fx;
    const bot = data[c + ch] + (data[d + ch] - data[c + ch]) * fx;
    out[ch] = top + (bot - top) * fy;
  }
}

/**
 * Paints out table rules the box caught at its edges: a column near the left or right end that is
 * dark over most of the height (a cell's vertical rule, read as "1" or "|", or pushing the first
 * digit out), or a row near the top or bottom that is dark over most of the width. Only the outer
 * quarter-height strip is searched at the ends, so strokes of letters (l, 1, I) are never touched:
 * a glyph's stem does not span the whole box height, which includes the unclip margin.
 */
export function paintOutRules(crop: LineCrop): void {
  const { data, width, height } = crop;
  const dark = (i: number) => data[i * 3] + data[i * 3 + 1] + data[i * 3 + 2] < 3 * 110;
  const paper = paperLevel(crop);
  const fill = (i: number) => (data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = paper);
  const edge = Math.max(2, Math.round(height * 0.35));
  const colDark = (x: number) => {
    let n = 0;
    for (let y = 0; y < height; y++) if (dark(y * width + x)) n++;
    return n >= 0.85 * height;
  };
  for (const [from, step] of [
    [0, 1],
    [width - 1, -1],
  ] as const) {
    for (let k = 0, x = from; k < edge && x >= 0 && x < width; k++, x += step) {
      if (!colDark(x)) continue;
      // The rule and everything outside it (the neighbouring cell's edge) goes.
      for (let xx = from; xx !== x + step; xx += step) for (let y = 0; y < height; y++) fill(y * width + xx);
    }
  }
  const rowEdge = Math.max(1, Math.round(height * 0.2));
  const rowDark = (y: number) => {
    let n = 0;
    for (let x = 0; x < width; x++) if (dark(y * width + x)) n++;
    return n >= 0.7 * width;
  };
  for (const [from, step] of [
    [0, 1],
    [height - 1, -1],
  ] as const) {
    for (let k = 0, y = from; k < rowEdge; k++, y += step) {
      if (!rowDark(y)) continue;
      for (let yy = from; yy !== y + step; yy += step) for (let x = 0; x < width; x++) fill(yy * width + x);
    }
  }
}

/** Math.round(sum / 3) for every sum of three 8-bit channels. */
const GREY = Uint8Array.from({ length: 766 }, (_, s) => Math.round(s / 3));

/** The crop's paper brightness (its 90th percentile of grey), used to paint rules out and to pad batches. */
export const paperLevel = (crop: LineCrop): number => greyPercentile(crop, 0.9);

/** The grey level below which `fraction` of the crop's pixels lie. */
function greyPercentile(crop: LineCrop, fraction: number): number {
  const hist = new Uint32Array(256);
  const n = crop.width * crop.height;
  const d = crop.data;
  for (let i = 0, p = 0; i < n; i++, p += 3) hist[GREY[d[p] + d[p + 1] + d[p + 2]]]++;
  let seen = 0;
  for (let v = 0; v < 256; v++) if ((seen += hist[v]) >= fraction * n) return v;
  return 255;
}

export type Normalisation = 'unit' | 'signed';

/**
 * Crops of one batch → NCHW float32 in BGR order (PaddleOCR trained on cv2 images), each padded on
 * the right to `width` with its own paper colour. `unit` is x/255; `signed` is PaddleOCR's
 * (x/255 − 0.5) / 0.5.
 */
export function batchTensor(crops: LineCrop[], width: number, norm: Normalisation, scratch?: Float32Array): Float32Array {
  const height = crops[0].height;
  const plane = width * height;
  // Every element is written below, so a reused buffer needs no clearing.
  const size = crops.length * 3 * plane;
  const out = scratch && scratch.length >= size ? scratch.subarray(0, size) : new Float32Array(size);
  const scale = norm === 'signed' ? 2 / 255 : 1 / 255;
  const shift = norm === 'signed' ? -1 : 0;
  // One pass over each crop's pixels writing all three planes (the values of x * scale + shift
  // for the 256 levels looked up, not recomputed).
  const level = new Float32Array(256);
  for (let v = 0; v < 256; v++) level[v] = v * scale + shift;
  for (let n = 0; n < crops.length; n++) {
    const c = crops[n];
    const src = c.data;
    const cw = c.width;
    const pad = level[paperLevel(c)];
    const b = n * 3 * plane;
    for (let y = 0; y < height; y++) {
      const row = y * width;
      for (let x = 0, p = y * cw * 3; x < cw; x++, p += 3) {
        out[b + row + x] = level[src[p + 2]];
        out[b + plane + row + x] = level[src[p + 1]];
        out[b + 2 * plane + row + x] = level[src[p]];
      }
      if (cw < width) {
        out.fill(pad, b + row + cw, b + row + width);
        out.fill(pad, b + plane + row + cw, b + plane + row + width);
        out.fill(pad, b + 2 * plane + row + cw, b + 2 * plane + row + width);
      }
    }
  }
  return out;
}

/**
 * Per-line contrast, in place: the paper level is measured in windows along the line (a local
 * shadow or uneven light darkens only part of a line) and flattened to white, then the ink level
 * (the crop's darkest 4%) is stretched to black. `sharpen` > 0 adds an unsharp mask of that
 * amount: the recogniser finds word spaces from the gaps between strokes, which blur fills in.
 */
export function enhance(crop: LineCrop, sharpen: number): void {
  const { data, width, height } = crop;
  const n = width * height;
  const grey = new Float32Array(n);
  for (let i = 0; i < n; i++) grey[i] = data[i * 3] * 0.299 + data[i * 3 + 1] * 0.587 + data[i * 3 + 2] * 0.114;
  // Paper per window of about one line height, interpolated between window centres.
  const win = height;
  const centres: number[] = [];
  const papers: number[] = [];
  for (let x0 = 0; x0 < width; x0 += win) {
    const x1 = Math.min(width, x0 + win);
    const vals: number[] = [];
    for (let y = 0; y < height; y++) for (let x = x0; x < x1; x++) vals.push(grey[y * width + x]);
    vals.sort((a, b) => a - b);
    centres.push((x0 + x1) / 2);
    papers.push(Math.max(1, vals[Math.floor(vals.length * 0.9)]));
  }
  const paperAt = (x: number) => {
    if (x <= centres[0]) return papers[0];
    for (let k = 1; k < centres.length; k++) {
      if (x <= centres[k]) return papers[k - 1] + ((papers[k] - papers[k - 1]) * (x - centres[k - 1])) / (centres[k] - centres[k - 1]);
    }
    return papers[papers.length - 1];
  };
  const flat = new Float32Array(n);
  for (let x = 0; x < width; x++) {
    const p = paperAt(x);
    for (let y = 0; y < height; y++) flat[y * width + x] = Math.min(1, grey[y * width + x] / p);
  }
  const sorted = Float32Array.from(flat).sort();
  const ink = Math.min(0.6, sorted[Math.floor(n * 0.04)]);
  const span = Math.max(0.2, 1 - ink);
  let out = flat.map((v) => (v - ink) / span);
  if (sharpen > 0) {
    const blur = new Float32Array(n);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0;
        let w = 0;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= height) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= width) continue;
            const k = (dx === 0 ? 2 : 1) * (dy === 0 ? 2 : 1);
            s += out[yy * width + xx] * k;
            w += k;
          }
        }
        blur[y * width + x] = s / w;
      }
    }
    out = out.map((v, i) => v + sharpen * (v - blur[i]));
  }
  for (let i = 0; i < n; i++) {
    const v = Math.round(Math.min(1, Math.max(0, out[i])) * 255);
    data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = v;
  }
}

/**
 * The box re-cut across the text so its ink (ascenders to descenders) fills `fill` of the
 * height. The detector's boxes grow with blur, noise and bold type, and the recogniser's idea of
 * where one character ends and a word space begins depends on the text's size in its input:
 * measured, fat boxes read "steadygrowth", tight ones read "1,245,00". Vertical boxes are left as found.
 */
export function fitToInk(img: RawImage, q: Quad, height: number, fill: number): Quad {
  const { along, across } = boxSides(q);
  if (across >= 1.5 * along) return q;
  const probe = cropLine(img, q, height, 0.5);
  const { data, width } = probe;
  const grey = new Float32Array(width * height);
  for (let i = 0; i < grey.length; i++) grey[i] = data[i * 3] + data[i * 3 + 1] + data[i * 3 + 2];
  const sorted = Float32Array.from(grey).sort();
  const paper = sorted[Math.floor(grey.length * 0.9)];
  const ink = sorted[Math.floor(grey.length * 0.04)];
  if (paper - ink < 3 * 40) return q; // no contrast: nothing to measure
  const cut = (paper + ink) / 2;
  const rows: number[] = [];
  for (let y = 0; y < height; y++) {
    let n = 0;
    for (let x = 0; x < width; x++) if (grey[y * width + x] < cut) n++;
    if (n >= Math.max(2, 0.01 * width)) rows.push(y);
  }
  if (rows.length < 3) return q;
  const top = rows[0];
  const bottom = rows[rows.length - 1] + 1;
  const centre = (top + bottom) / 2;
  const span = (bottom - top) / fill;
  const a = (centre - span / 2) / height;
  const b = (centre + span / 2) / height;
  const at = (p: [number, number], r: [number, number], t: number): [number, number] => [p[0] + (r[0] - p[0]) * t, p[1] + (r[1] - p[1]) * t];
  return [at(q[0], q[3], a), at(q[1], q[2], a), at(q[0], q[3], b), at(q[1], q[2], b)].map((p, i, all) => (i === 2 ? all[3] : i === 3 ? all[2] : p)) as Quad;
}

/**
 * Pieces of a crop separated by blank runs wider than `gap` × the ink height, as [from, to)
 * column ranges with a margin each side: the detector joins the lines of neighbouring columns
 * (and adjacent table cells) across a narrow gutter, and the recogniser then reads them as one
 * line with a double space. A word space, even justified, is far narrower than a line's height.
 */
export function splitAtGaps(crop: LineCrop, gap: number): Array<[number, number]> {
  const { data, width, height } = crop;
  const n = width * height;
  const grey = new Uint16Array(n);
  // Percentiles from a histogram of the 766 possible sums: a sort of every pixel cost more than the crop.
  const hist = new Uint32Array(766);
  for (let i = 0; i < n; i++) hist[(grey[i] = data[i * 3] + data[i * 3 + 1] + data[i * 3 + 2])]++;
  const rank = (q: number) => {
    const want = Math.floor(n * q) + 1;
    for (let v = 0, seen = 0; v < 766; v++) if ((seen += hist[v]) >= want) return v;
    return 765;
  };
  const paper = rank(0.9);
  const ink = rank(0.04);
  if (paper - ink < 3 * 40) return [[0, width]];
  const cut = (paper + ink) / 2;
  const colInk = new Uint8Array(width);
  let top = height;
  let bottom = 0;
  for (let y = 0; y < height; y++) {
    let rowN = 0;
    for (let x = 0; x < width; x++) {
      if (grey[y * width + x] < cut) {
        colInk[x] = 1;
        rowN++;
      }
    }
    if (rowN >= Math.max(2, 0.01 * width)) {
      top = Math.min(top, y);
      bottom = Math.max(bottom, y + 1);
    }
  }
  const inkH = bottom - top;
  if (inkH < 4) return [[0, width]];
  const minGap = gap * inkH;
  const pieces: Array<[number, number]> = [];
  let start = colInk.indexOf(1);
  if (start < 0) return [[0, width]];
  let last = start;
  for (let x = start + 1; x <= width; x++) {
    if (x < width && !colInk[x]) continue;
    if (x === width || x - last - 1 >= minGap) {
      pieces.push([start, last + 1]);
      start = x;
    }
    last = x;
  }
  if (pieces.length < 2) return [[0, width]];
  // Margins: half the ink height, never past the middle of the gap.
  const m = Math.round(inkH / 2);
  return pieces.map(([a, b], i) => [
    i === 0 ? 0 : Math.max(a - m, Math.ceil((pieces[i - 1][1] + a) / 2)),
    i === pieces.length - 1 ? width : Math.min(b + m, Math.floor((b + pieces[i + 1][0]) / 2)),
  ]);
}

/** The part of a quad between fractions a and b along its text. */
export function subQuad(q: Quad, a: number, b: number): Quad {
  const at = (p: [number, number], r: [number, number], t: number): [number, number] => [p[0] + (r[0] - p[0]) * t, p[1] + (r[1] - p[1]) * t];
  return [at(q[0], q[1], a), at(q[0], q[1], b), at(q[3], q[2], b), at(q[3], q[2], a)];
}

/**
 * How far past its end a level box should be read, as a fraction of its length: up to `reach` ×
 * its height, as far as the last small mark there (a full stop, comma, closing bracket's foot),
 * and not at all where ink taller than `tall` of the box stands there (the next word, a cell or a
 * column), where several marks do (a dot leader) or where the band is blank. The detector's box
 * stops at the last letter and the recogniser drops a final mark at the crop's edge ("31,2011" for
 * "31, 2011.").
 */
export function trailingMarkReach(img: RawImage, q: Quad, reach: number, tall = 0.45): number {
  const { along, across } = boxSides(q);
  // A box of a character or two (a figure in a table cell) is left as found: a speck beside it reads as a letter.
  if (along < 2.5 * across) return 0;
  const d = (reach * across) / along;
  // Looked at three times as far: a dot leader's next dot shows there.
  const look = 3 * d;
  const band = subQuad(q, 1, 1 + look);
  if (band.some(([x, y]) => x < 0 || y < 0 || x > img.width || y > img.height)) return 0;
  const height = 32;
  const probe = cropLine(img, band, height);
  const line = cropLine(img, q, height);
  const paper = paperLevel(line);
  const cut = paper - 0.45 * Math.max(0, paper - greyPercentile(line, 0.03));
  let last = -1;
  let marks = 0;
  for (let x = 0; x < probe.width; x++) {
    let top = height;
    let bottom = -1;
    for (let y = 0; y < height; y++) {
      const p = (y * probe.width + x) * 3;
      if (GREY[probe.data[p] + probe.data[p + 1] + probe.data[p + 2]] < cut) {
        top = Math.min(top, y);
        bottom = y;
      }
    }
    if (bottom < 0) continue;
    if (bottom - top + 1 > tall * height) return 0;
    if (last < x - 1) marks++;
    last = x;
  }
  // One mark ends a sentence or a clause; a row of them is a dot leader, which tables drop.
  if (last < 0 || marks > 1 || last >= probe.width / 3) return 0;
  return (look * (last + 1 + Math.ceil(0.1 * height))) / probe.width;
}
