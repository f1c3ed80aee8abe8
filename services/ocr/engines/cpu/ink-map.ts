// The page as ink and paper in its own level frame (a skewed scan turned so its lines run along
// x), with a summed-area table: any rectangle's ink count in four reads. Gutters, ruling lines
// and figures are found on it (gutters.ts, figures-cpu.ts).
import type { RawImage } from './line-crops.ts';

export type Point = [number, number];

export interface InkMap {
  width: number;
  height: number;
  /** Summed-area table, (width + 1) × (height + 1): sat[y * (width + 1) + x] is the ink above and left of (x, y). */
  sat: Int32Array;
  /** Page (recognition image) point → map point. */
  toMap: (p: Point) => Point;
  /** Map point → page point. */
  toPage: (p: Point) => Point;
}

/**
 * Ink is darker than 55% of the paper level (the page's 90th percentile of green, sampled), so
 * a scan's grey paper and JPEG noise stay paper. `skew` (radians, clockwise on screen, as
 * page-geometry's skewAngle) is undone: the map's pixel (x, y) samples the page at the point
 * that (x, y) turns to by `skew` about the centre.
 */
export function inkMap(img: RawImage, skew = 0): InkMap {
  const { data, width, height } = img;
  const hist = new Uint32Array(256);
  for (let i = 1; i < data.length; i += 3 * 7) hist[data[i]]++;
  const total = hist.reduce((a, b) => a + b, 0);
  let paper = 255;
  for (let v = 0, seen = 0; v < 256; v++)
    if ((seen += hist[v]) >= 0.9 * total) {
      paper = v;
      break;
    }
  const cut = Math.max(40, paper * 0.55);
  const cos = Math.cos(skew);
  const sin = Math.sin(skew);
  const cx = width / 2;
  const cy = height / 2;
  const turn =
    (a: number) =>
    (p: Point): Point => {
      const c = Math.cos(a);
      const s = Math.sin(a);
      return [cx + (p[0] - cx) * c - (p[1] - cy) * s, cy + (p[0] - cx) * s + (p[1] - cy) * c];
    };
  const W = width + 1;
  const sat = new Int32Array(W * (height + 1));
  for (let y = 0; y < height; y++) {
    let run = 0;
    const up = y * W;
    const here = (y + 1) * W;
    // The source point of (0, y), stepped by (cos, sin) per map pixel.
    let sx = cx + (0 - cx) * cos - (y - cy) * sin;
    let sy = cy + (0 - cx) * sin + (y - cy) * cos;
    for (let x = 0; x < width; x++, sx += cos, sy += sin) {
      let ink = 0;
      if (skew === 0) ink = data[(y * width + x) * 3 + 1] < cut ? 1 : 0;
      else {
        const xi = Math.round(sx);
        const yi = Math.round(sy);
        if (xi >= 0 && yi >= 0 && xi < width && yi < height) ink = data[(yi * width + xi) * 3 + 1] < cut ? 1 : 0;
      }
      run += ink;
      sat[here + x + 1] = sat[up + x + 1] + run;
    }
  }
  return { width, height, sat, toMap: turn(-skew), toPage: turn(skew) };
}

/** Ink pixels in [x0, x1) × [y0, y1), clamped to the map. */
export function inkIn(m: InkMap, x0: number, y0: number, x1: number, y1: number): number {
  const W = m.width + 1;
  const a = Math.max(0, Math.min(m.width, Math.round(x0)));
  const b = Math.max(a, Math.min(m.width, Math.round(x1)));
  const c = Math.max(0, Math.min(m.height, Math.round(y0)));
  const d = Math.max(c, Math.min(m.height, Math.round(y1)));
  const s = m.sat;
  return s[d * W + b] - s[c * W + b] - s[d * W + a] + s[c * W + a];
}
