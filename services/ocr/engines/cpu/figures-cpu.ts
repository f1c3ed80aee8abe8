// Photos, halftones, shaded drawings and logos on a page the CPU engine reads: found from the
// page's tones before reading (large areas outside the text boxes where most of the paper is
// covered), kept out of the text (what the recogniser reads inside one with low
// confidence is texture, not words), and emitted as figure blocks linked and cropped as the
// vLLM path's are (services/ocr/figures.ts).
import type { RawImage } from './line-crops.ts';
import type { Quad } from './line-boxes.ts';
import type { BBox, Block } from '../../../../shared/bus/messages.ts';

export interface FigureOptions {
  /** A cell is covered when its mean is this fraction darker than the paper's. */
  cover: number;
  /** A figure's cells vary within themselves by at least this × the paper level (standard deviation), on average. */
  texture: number;
  /** A figure is at least this many line heights on each side (a drop cap is three or so). */
  minSide: number;
}

export const DEFAULT_FIGURES: FigureOptions = { cover: 0.2, texture: 0.08, minSide: 4 };

/**
 * Figure regions (boxes in the image's pixels, [x1, y1, x2, y2]). `lineH` is the page's typical
 * text box height, which sets the cell size. Covered cells are joined with their neighbours one
 * cell apart (a photo's highlights and a drawing's white parts leave holes).
 */
export function findFigures(img: RawImage, quads: Quad[], lineH: number, opts: FigureOptions = DEFAULT_FIGURES): BBox[] {
  const { data, width, height } = img;
  const cell = Math.max(6, Math.round(lineH / 2));
  const cw = Math.ceil(width / cell);
  const ch = Math.ceil(height / cell);
  // Every second pixel of every second row: cells are many pixels wide, and this is a whole-page pass.
  // Per cell, the mean and spread of the darkest channel (coloured areas count as much as grey ones).
  const sum = new Float64Array(cw * ch);
  const sq = new Float64Array(cw * ch);
  const n = new Uint32Array(cw * ch);
  const cellOf = new Int32Array(width);
  for (let x = 0; x < width; x++) cellOf[x] = (x / cell) | 0;
  for (let y = 0; y < height; y += 2) {
    const row = ((y / cell) | 0) * cw;
    for (let x = 0, p = y * width * 3; x < width; x += 2, p += 6) {
      const v = Math.min(data[p], data[p + 1], data[p + 2]);
      const i = row + cellOf[x];
      sum[i] += v;
      sq[i] += v * v;
      n[i]++;
    }
  }
  const mean = sum.map((s, i) => s / Math.max(1, n[i]));
  const spread = sq.map((s, i) => Math.sqrt(Math.max(0, s / Math.max(1, n[i]) - mean[i] * mean[i])));
  // Paper: a bright cell (the 80th percentile: dense text fills half a page's cells or more).
  // Noise and grain average out in a cell's mean; print, a photo's tones and a drawing's fills do not.
  const paper = Float64Array.from(mean).sort()[Math.floor(mean.length * 0.8)];
  const boxed = new Uint8Array(cw * ch);
  for (const q of quads) {
    const xs = q.map((p) => p[0]);
    const ys = q.map((p) => p[1]);
    const [x0, x1] = [Math.floor(Math.min(...xs) / cell), Math.floor(Math.max(...xs) / cell)];
    const [y0, y1] = [Math.floor(Math.min(...ys) / cell), Math.floor(Math.max(...ys) / cell)];
    for (let y = Math.max(0, y0); y <= Math.min(ch - 1, y1); y++) for (let x = Math.max(0, x0); x <= Math.min(cw - 1, x1); x++) boxed[y * cw + x] = 1;
  }
  // Text, however bold, is in boxes: only covered cells outside them make pictures, so a photo
  // never grows into the column beside it. Neighbours up to two cells apart are joined (a photo's
  // highlights, a drawing's white parts and the boxes the detector finds on its texture leave holes).
  const covered = new Uint8Array(cw * ch);
  for (let i = 0; i < covered.length; i++) covered[i] = mean[i] < (1 - opts.cover) * paper && !boxed[i] ? 1 : 0;
  const label = new Int32Array(cw * ch).fill(-1);
  const figures: BBox[] = [];
  const stack: number[] = [];
  for (let start = 0; start < covered.length; start++) {
    if (!covered[start] || label[start] >= 0) continue;
    let [minX, minY, maxX, maxY, cells, texture] = [cw, ch, 0, 0, 0, 0];
    label[start] = start;
    stack.push(start);
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % cw;
      const y = (i / cw) | 0;
      [minX, minY, maxX, maxY] = [Math.min(minX, x), Math.min(minY, y), Math.max(maxX, x), Math.max(maxY, y)];
      cells++;
      texture += spread[i];
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= cw || yy >= ch) continue;
          const j = yy * cw + xx;
          if (covered[j] && label[j] < 0) {
            label[j] = start;
            stack.push(j);
          }
        }
      }
    }
    const w = (maxX - minX + 1) * cell;
    const h = (maxY - minY + 1) * cell;
    if (w < opts.minSide * lineH || h < opts.minSide * lineH) continue;
    // A sparse scatter (specks, a dotted rule's neighbours) is not a picture, nor a smooth tone
    // (a shadow, the table or background a photographed page lies on, a flat tint).
    if (cells < 0.15 * (maxX - minX + 1) * (maxY - minY + 1) || texture / cells < opts.texture * paper) continue;
    figures.push([minX * cell, minY * cell, Math.min(width, (maxX + 1) * cell), Math.min(height, (maxY + 1) * cell)]);
  }
  // Parts of one picture (a drawing's pieces, a photo split by a white band) within three lines of each other: one figure.
  const near = 3 * lineH;
  for (let merged = true; merged;) {
    merged = false;
    for (let i = 0; i < figures.length && !merged; i++) {
      for (let j = i + 1; j < figures.length && !merged; j++) {
        const [a, b] = [figures[i], figures[j]];
        if (a[0] - near > b[2] || b[0] - near > a[2] || a[1] - near > b[3] || b[1] - near > a[3]) continue;
        figures.splice(j, 1);
        figures[i] = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
        merged = true;
      }
    }
  }
  return figures;
}

/** Whether the quad's centre lies inside the box. */
export function centreIn(q: Quad, b: BBox): boolean {
  const x = q.reduce((s, p) => s + p[0], 0) / q.length;
  const y = q.reduce((s, p) => s + p[1], 0) / q.length;
  return x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3];
}

/**
 * Figure blocks added to a laid-out page: each is linked as `![](images/<page>_<k>.jpg)` (the
 * name services/ocr/figures.ts crops it under) and placed in reading order before the first
 * block that starts below its top in the same column, or at the end; the link goes before that
 * block's text in the Markdown.
 */
export function withFigures(markdown: string, blocks: Block[], figures: BBox[], page: number): { markdown: string; blocks: Block[] } {
  const out = [...blocks];
  let md = markdown;
  [...figures]
    .sort((a, b) => a[1] - b[1] || a[0] - b[0])
    .forEach((bbox, k) => {
      const link = `![](images/${page}_${k}.jpg)`;
      const fig: Block = { type: 'image', bbox, text: link };
      const at = out.findIndex((b) => b.type !== 'image' && b.bbox[1] >= bbox[1] && b.bbox[0] < bbox[2] && b.bbox[2] > bbox[0]);
      const start = at >= 0 ? paragraphOf(md, out[at].text) : -1;
      if (at < 0 || start < 0) {
        out.push(fig);
        md = md ? `${md}\n\n${link}` : link;
        return;
      }
      out.splice(at, 0, fig);
      md = `${md.slice(0, start)}${link}\n\n${md.slice(start)}`;
    });
  out.forEach((b, i) => b.order !== undefined && (b.order = i));
  return { markdown: md, blocks: out };
}

/** Where the Markdown paragraph holding the start of `text` begins, or −1. */
function paragraphOf(md: string, text: string): number {
  const words = text.trim().split(/\s+/).slice(0, 4).join(' ');
  if (!words) return -1;
  const hit = md.indexOf(words);
  if (hit < 0) return -1;
  const para = md.lastIndexOf('\n\n', hit);
  return para < 0 ? 0 : para + 2;
}
