// Detection probability map → text line boxes, as PaddleOCR's DB post-processing does it:
// threshold, contours, minimum-area rectangles, box score, unclip. One copy of the (small) mask
// into OpenCV; nothing of the page image is copied here.
import cv from '@techstark/opencv-js';

export type Quad = [number, number][];

export interface BoxOptions {
  /** Pixels with more probability are text. PaddleOCR's 0.3: @gutenye's 0.03 made boxes so fat they swallowed table rules. */
  threshold: number;
  /** A box whose mean probability is below this is dropped (PaddleOCR's box_thresh 0.6): specks, rules, texture. */
  boxThreshold: number;
  /** The shrunk text kernel is grown back by area × ratio / perimeter on every side (PaddleOCR's 1.5). */
  unclipRatio: number;
}

export const DEFAULT_BOXES: BoxOptions = { threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5 };

/** Boxes (corners clockwise from top-left) in the probability map's pixels. */
export function lineBoxes(prob: Float32Array, width: number, height: number, opts: BoxOptions = DEFAULT_BOXES): Quad[] {
  const mask = new Uint8Array(width * height);
  for (let i = 0; i < prob.length; i++) mask[i] = prob[i] > opts.threshold ? 255 : 0;
  const src = cv.matFromArray(height, width, cv.CV_8UC1, mask);
  const contours = new cv.MatVector();
  const hierarchy = new cv.Mat();
  const quads: Quad[] = [];
  try {
    cv.findContours(src, contours, hierarchy, cv.RETR_LIST, cv.CHAIN_APPROX_SIMPLE);
    for (let i = 0; i < contours.size(); i++) {
      const cnt = contours.get(i);
      const rect = cv.minAreaRect(cnt);
      const bound = cv.boundingRect(cnt);
      cnt.delete();
      if (Math.min(rect.size.width, rect.size.height) < 3) continue;
      if (meanIn(prob, width, bound, clockwise(corners(rect))) < opts.boxThreshold) continue;
      const { width: w, height: h } = rect.size;
      const d = (w * h * opts.unclipRatio) / (2 * (w + h));
      const grown = { center: rect.center, size: { width: w + 2 * d, height: h + 2 * d }, angle: rect.angle };
      if (Math.min(grown.size.width, grown.size.height) < 5) continue;
      quads.push(clockwise(corners(grown)));
    }
  } finally {
    src.delete();
    contours.delete();
    hierarchy.delete();
  }
  return quads;
}

/**
 * Mean probability inside the (not yet grown) box, as PaddleOCR's box_score_fast. The quad's
 * edges are set up once per box, not once per pixel (same arithmetic as a per-pixel test).
 */
function meanIn(prob: Float32Array, width: number, r: { x: number; y: number; width: number; height: number }, q: Quad): number {
  const edges = new Float64Array(20);
  for (let k = 0; k < 4; k++) {
    const [ax, ay] = q[k];
    const [bx, by] = q[(k + 1) % 4];
    edges.set([ax, ay, bx - ax, by - ay, Math.hypot(bx - ax, by - ay) || 1], k * 5);
  }
  let sum = 0;
  let n = 0;
  for (let y = r.y; y < r.y + r.height; y++) {
    for (let x = r.x, i = y * width + r.x; x < r.x + r.width; x++, i++) {
      if (!inside(edges, x + 0.5, y + 0.5)) continue;
      sum += prob[i];
      n++;
    }
  }
  return n ? sum / n : 0;
}

/** Inside a clockwise (on screen) convex quad given as 4 × (ax, ay, dx, dy, length), edges included with half a pixel of slack. */
function inside(e: Float64Array, x: number, y: number): boolean {
  for (let k = 0; k < 20; k += 5) {
    if ((e[k + 2] * (y - e[k + 1]) - e[k + 3] * (x - e[k])) / e[k + 4] < -0.5) return false;
  }
  return true;
}

function corners(r: { center: { x: number; y: number }; size: { width: number; height: number }; angle: number }): Quad {
  const t = (r.angle * Math.PI) / 180;
  const c = Math.cos(t);
  const s = Math.sin(t);
  const dx = r.size.width / 2;
  const dy = r.size.height / 2;
  return [
    [r.center.x - dx * c + dy * s, r.center.y - dx * s - dy * c],
    [r.center.x + dx * c + dy * s, r.center.y + dx * s - dy * c],
    [r.center.x + dx * c - dy * s, r.center.y + dx * s + dy * c],
    [r.center.x - dx * c - dy * s, r.center.y - dx * s + dy * c],
  ];
}

/**
 * Top-left first, clockwise, whatever angle OpenCV reported: the two leftmost points give the
 * left edge (upper one first), the two rightmost the right edge.
 */
export function clockwise(q: Quad): Quad {
  const byX = [...q].sort((a, b) => a[0] - b[0]);
  const [tl, bl] = byX[0][1] <= byX[1][1] ? [byX[0], byX[1]] : [byX[1], byX[0]];
  const [tr, br] = byX[2][1] <= byX[3][1] ? [byX[2], byX[3]] : [byX[3], byX[2]];
  return [tl, tr, br, bl];
}
