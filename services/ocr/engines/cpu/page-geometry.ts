// Geometry for the CPU engine's boxes: skew of a scanned page, rotation about its centre, boxes.
import type { BBox } from '../../../../shared/bus/messages.ts';

export type Point = [number, number];

/** Median slope of the long lines' top edges; 0 when too few lines or too small to matter. */
export function skewAngle(quads: Point[][]): number {
  const angles = quads
    .filter((q) => Math.hypot(q[1][0] - q[0][0], q[1][1] - q[0][1]) > 4 * lineHeight(q))
    .map((q) => Math.atan2(q[1][1] - q[0][1], q[1][0] - q[0][0]))
    .sort((a, b) => a - b);
  if (angles.length < 3) return 0;
  const a = angles[Math.floor(angles.length / 2)];
  return Math.abs(a) < 0.002 || Math.abs(a) > 0.2 ? 0 : a;
}

/**
 * Maps a point of the page turned `turn` degrees clockwise (as sharp's rotate) back onto the
 * page as it was decoded, `width` × `height`.
 */
export function unturn(turn: 0 | 90 | 180 | 270, width: number, height: number): (p: Point) => Point {
  if (turn === 90) return ([x, y]) => [y, height - x];
  if (turn === 180) return ([x, y]) => [width - x, height - y];
  if (turn === 270) return ([x, y]) => [width - y, x];
  return (p) => p;
}

/** Rotation by `angle` radians (clockwise on screen) about the centre of a width × height page. */
export function rotation(angle: number, width: number, height: number): (p: Point) => Point {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const cx = width / 2;
  const cy = height / 2;
  return ([x, y]) => [cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos];
}

/** The rotated box's own height: a skewed line's axis-aligned box is much taller than its text. */
export function lineHeight(q: Point[]): number {
  return (Math.hypot(q[3][0] - q[0][0], q[3][1] - q[0][1]) + Math.hypot(q[2][0] - q[1][0], q[2][1] - q[1][1])) / 2;
}

export const boxOf = (pts: Point[]): BBox => [
  Math.min(...pts.map((p) => p[0])),
  Math.min(...pts.map((p) => p[1])),
  Math.max(...pts.map((p) => p[0])),
  Math.max(...pts.map((p) => p[1])),
];
export const corners = (b: BBox): Point[] => [
  [b[0], b[1]],
  [b[2], b[1]],
  [b[2], b[3]],
  [b[0], b[3]],
];
export const roundBox = (b: BBox): BBox => b.map((v) => Math.round(v)) as BBox;
export const clampBox = (b: BBox, w: number, h: number): BBox => roundBox([Math.max(0, b[0]), Math.max(0, b[1]), Math.min(w, b[2]), Math.min(h, b[3])]);
