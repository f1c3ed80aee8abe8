// The page's own structure applied to the detector's boxes before anything is read: boxes cut at
// column gutters and ruling lines (gutters.ts), and figures found (figures-cpu.ts). One ink map per page, in the page's level frame.
import { inkMap, type InkMap } from './ink-map.ts';
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
  return { pieces: boxes.map((b, i) => (b ? cutsToPieces(b, cuts[i], facing(map, b, all, opts)) : [WHOLE])), cuts, figures };
}

/**
 * Which ends of `b` face another box on its row: the boxes meet within a third of its text height
 * (a neighbour's margin), or the page's ink has a column gutter between them (findCuts on the two
 * boxes as one). The detector's margins, about half a text height each and more on a blurred
 * scan, shrink a narrow gutter between two separately found boxes to a sliver the layout takes for
 * a word space (blsmlr_p65-scan: 34 px of paper between the columns' ink, 4 px between their
 * boxes). A word space between two boxes of one line is not trimmed: trimmed, such spaces lined
 * up down a column as a gutter for the layout (news3: ordered CER 0.1% -> 1.2%).
 */
function facing(m: InkMap, b: MapBox, all: MapBox[], opts: GutterOptions): { left: boolean; right: boolean } {
  const h = b.bottom - b.top;
  const mid = (b.top + b.bottom) / 2;
  const near = all.filter((o) => o !== b && o.top < mid && o.bottom > mid);
  // A gutter cut of the two boxes taken as one (in b's ink band) that b's ink ends at, on the side of the other.
  const gutterBetween = (l: MapBox, r: MapBox) =>
    r.inkLeft - l.inkRight < FACING_GAP * h &&
    findCuts(m, { ...b, x0: Math.min(l.x0, r.x0), x1: Math.max(l.x1, r.x1) }, all, opts).some(
      (c) => c.kind === 'gutter' && (b === l ? c.from >= l.inkRight - 1 && c.from <= r.inkRight : c.to <= r.inkLeft + 1 && c.to >= l.inkLeft),
    );
  // A neighbour on the left starts and ends further left; on a blurred scan its box may begin
  // over b's last letters (the detector's boxes overlap across a narrow gutter).
  return {
    left: near.some((o) => (o.inkRight < b.inkLeft && o.x1 + h / 3 >= b.x0) || (o.inkLeft < b.inkLeft && o.inkRight < b.inkRight && gutterBetween(o, b))),
    right: near.some((o) => (o.inkLeft > b.inkRight && o.x0 - h / 3 <= b.x1) || (o.inkLeft > b.inkLeft && o.inkRight > b.inkRight && gutterBetween(b, o))),
  };
}

/**
 * Ink gaps (× text height) under which two boxes on a row are tested for a gutter between them.
 * Two margins of about half a text height close a gap of up to ~1.5 text heights below the
 * layout's narrowest column gap (0.3 of a line, ~0.45 text height); a wider gap stays open.
 */
const FACING_GAP = 2;
