// The page's own structure applied to the detector's boxes before anything is read: boxes cut at
// column gutters and ruling lines (gutters.ts), and figures found (figures-cpu.ts). One ink map per page, in the page's level frame.
import { inkMap } from './ink-map.ts';
import { cutsToPieces, findCuts, mapBox, type GutterOptions, DEFAULT_GUTTERS, type MapBox, type Piece, WHOLE } from './gutters.ts';
import { boxSides, type RawImage } from './line-crops.ts';
import { skewAngle } from './page-geometry.ts';
import type { Quad } from './line-boxes.ts';
import { findFigures } from './figures-cpu.ts';
import type { BBox } from '../../../../shared/bus/messages.ts';

export interface PagePlan {
  /** Per box, the pieces to read ([WHOLE]: the box as found). */
  pieces: Piece[][];
  /** Per box, how it was cut (for tests and bench tools): rules and gutters found in it. */
  cuts: Array<Array<{ from: number; to: number; kind: 'rule' | 'gutter' }>>;
  /** Photos, halftones and drawings (figures-cpu.ts), [x1, y1, x2, y2] in the image's pixels. */
  figures: BBox[];
}

export function planPage(img: RawImage, quads: Quad[], opts: GutterOptions = DEFAULT_GUTTERS): PagePlan {
  const map = inkMap(img, skewAngle(quads));
  // Vertical boxes (read turned) are left whole: their "gutters" would run across the text.
  const boxes = quads.map((q) => (boxSides(q).across >= 1.5 * boxSides(q).along ? null : mapBox(map, q)));
  const all = boxes.filter((b): b is MapBox => b !== null).sort((a, b) => a.top + a.bottom - b.top - b.bottom);
  const cuts = boxes.map((b) => (b ? findCuts(map, b, all, opts) : []));
  const heights = quads.map((q) => Math.min(boxSides(q).across, boxSides(q).along)).sort((a, b) => a - b);
  const figures = heights.length ? findFigures(img, quads, heights[heights.length >> 1]) : [];
  return { pieces: boxes.map((b, i) => (b ? cutsToPieces(b, cuts[i], facing(b, all)) : [WHOLE])), cuts, figures };
}

/** Which ends of `b` meet another box on its row within a third of its text height (a neighbour's margin). */
function facing(b: MapBox, all: MapBox[]): { left: boolean; right: boolean } {
  const h = b.bottom - b.top;
  const mid = (b.top + b.bottom) / 2;
  const near = all.filter((o) => o !== b && o.top < mid && o.bottom > mid);
  return {
    left: near.some((o) => o.inkRight < b.inkLeft && o.x1 + h / 3 >= b.x0),
    right: near.some((o) => o.inkLeft > b.inkRight && o.x0 - h / 3 <= b.x1),
  };
}
