// The page's own structure applied to the detector's boxes before anything is read: boxes cut at
// column gutters and ruling lines (gutters.ts). One ink map per page, in the page's level frame.
import { inkMap } from './ink-map.ts';
import { cutsToPieces, findCuts, mapBox, type GutterOptions, DEFAULT_GUTTERS, type MapBox } from './gutters.ts';
import { boxSides, type RawImage } from './line-crops.ts';
import { skewAngle } from './page-geometry.ts';
import type { Quad } from './line-boxes.ts';

export interface PagePlan {
  /** Per box, the pieces to read as [from, to) fractions along it ([[0, 1]]: whole). */
  pieces: Array<Array<[number, number]>>;
  /** Per box, how it was cut (for tests and bench tools): rules and gutters found in it. */
  cuts: Array<Array<{ from: number; to: number; kind: 'rule' | 'gutter' }>>;
}

export function planPage(img: RawImage, quads: Quad[], opts: GutterOptions = DEFAULT_GUTTERS): PagePlan {
  const map = inkMap(img, skewAngle(quads));
  // Vertical boxes (read turned) are left whole: their "gutters" would run across the text.
  const boxes = quads.map((q) => (boxSides(q).across >= 1.5 * boxSides(q).along ? null : mapBox(map, q)));
  const all = boxes.filter((b): b is MapBox => b !== null);
  const cuts = boxes.map((b) => (b ? findCuts(map, b, all, opts) : []));
  return { pieces: boxes.map((b, i) => (b ? cutsToPieces(b, cuts[i]) : [[0, 1]])), cuts };
}
