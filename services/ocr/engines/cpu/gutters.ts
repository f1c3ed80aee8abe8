// Where a detector box crosses a column gutter or a ruling line, found from the page's ink (not
// from the boxes): the detector, at its reduced scale, joins lines of neighbouring columns across
// a narrow gutter and table cells across their rule, and a line read across a gutter is half of
// one column and half of the next. A gap inside a box is a gutter when a strip of it stays blank
// up and down the page through several text lines that have ink on both sides of it (a word
// space lines up with blanks above and below for a line or two, never for many); a ruling line
// is ink that runs through the line's whole height and beyond it, thin.
import { inkIn, type InkMap, type Point } from './ink-map.ts';

export interface GutterOptions {
  /** Narrowest gutter strip tested, × the line's ink height (a justified word space is ~0.25–0.5). */
  minStrip: number;
  /** Text rows with ink on both sides of the strip that make a gutter: [narrow gap, medium, wide]. */
  rows: [number, number, number];
  /** Gaps under these × ink height are narrow, medium; wider ones are wide. */
  widths: [number, number];
}

export const DEFAULT_GUTTERS: GutterOptions = { minStrip: 0.25, rows: [6, 5, 4], widths: [0.5, 0.9] };

/** A box in the map's level frame: its extent and the rows its text's ink fills. */
export interface MapBox {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** Ink band: the contiguous rows around the box's middle with text ink. */
  top: number;
  bottom: number;
  /** The box's left and right ends (mid-height) in map x: fraction t of the box lies at left + t × (right − left). */
  left: number;
  right: number;
  /** First and last columns with ink in the band, specks at the ends left out (inkEnds); the detector's box reaches past them by its margin. */
  inkLeft: number;
  inkRight: number;
}

export function mapBox(m: InkMap, quad: Point[]): MapBox | null {
  const r = quad.map(m.toMap);
  const xs = r.map((p) => p[0]);
  const ys = r.map((p) => p[1]);
  const x0 = Math.max(0, Math.floor(Math.min(...xs)));
  const x1 = Math.min(m.width, Math.ceil(Math.max(...xs)));
  const y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const y1 = Math.min(m.height, Math.ceil(Math.max(...ys)));
  if (x1 - x0 < 4 || y1 - y0 < 4) return null;
  // A row is text when its ink is more than a few thin rules' worth.
  const rowMin = Math.max(2, 0.02 * (x1 - x0));
  const text = (y: number) => inkIn(m, x0, y, x1, y + 1) >= rowMin;
  let mid = Math.floor((y0 + y1) / 2);
  // The middle row may fall between two lines' ink in a box that caught some of a neighbour: nearest text row.
  for (let d = 0; d < (y1 - y0) / 2 && !text(mid); d++) {
    if (text(mid - d)) mid -= d;
    else if (text(mid + d)) mid += d;
    else continue;
    break;
  }
  if (!text(mid)) return null;
  let top = mid;
  let bottom = mid + 1;
  while (top > y0 && text(top - 1)) top--;
  while (bottom < y1 && text(bottom)) bottom++;
  const left = (r[0][0] + r[3][0]) / 2;
  const right = (r[1][0] + r[2][0]) / 2;
  const ends = inkEnds(columnInk(m, x0, x1, top, bottom), bottom - top);
  const [inkLeft, inkRight] = ends ? [x0 + ends[0], x0 + ends[1]] : [x0, x1 - 1];
  return { x0, x1, y0, y1, top, bottom, left, right, inkLeft, inkRight };
}

/** Ink per column of [x0, x1) over rows [top, bottom). */
function columnInk(m: InkMap, x0: number, x1: number, top: number, bottom: number): Int32Array {
  const col = new Int32Array(Math.max(0, x1 - x0));
  for (let x = x0; x < x1; x++) col[x - x0] = inkIn(m, x, top, x + 1, bottom);
  return col;
}

/**
 * First and last columns (indices of `col`) of a box's text, its ink `inkH` rows tall: specks
 * at either end, set apart from the text by a blank as wide as the narrowest gutter tested, do
 * not count. A scan's dust and JPEG noise in the margin of a box otherwise end its ink there, in
 * the gutter, and a gutter cut before such a speck leaves a piece of its own that reads as a
 * character or two of nonsense between the columns (blsmlr_p65-scan: "3152", which alone kept
 * the layout from seeing the gutter). null: no ink.
 */
export function inkEnds(col: Int32Array, inkH: number, opts: GutterOptions = DEFAULT_GUTTERS): [number, number] | null {
  const apart = Math.max(2, Math.round(opts.minStrip * inkH));
  const speck = SPECK * inkH * inkH;
  // Runs of ink columns joined across blanks narrower than `apart`: [first, last, ink].
  const runs: Array<[number, number, number]> = [];
  for (let x = 0; x < col.length; x++) {
    if (col[x] === 0) continue;
    const run = runs[runs.length - 1];
    if (run && x - run[1] <= apart) {
      run[1] = x;
      run[2] += col[x];
    } else runs.push([x, x, col[x]]);
  }
  if (runs.length === 0) return null;
  let a = 0;
  let b = runs.length - 1;
  while (a < b && runs[a][2] < speck) a++;
  while (b > a && runs[b][2] < speck) b--;
  return [runs[a][0], runs[b][1]];
}

/** Ink under this × the ink height squared is a speck of the scan, not a piece of text (a full stop is ~0.02). */
const SPECK = 0.03;

/**
 * Column ranges [from, to) of map x where `box` should be cut: ruling lines (the whole rule's
 * width, left out of both pieces) and gutters (the gap between the pieces' ink, split at its middle
 * by cutsToPieces).
 */
/** `all`: every box on the page, in order of (top + bottom) / 2. */
export function findCuts(
  m: InkMap,
  box: MapBox,
  all: MapBox[],
  opts: GutterOptions = DEFAULT_GUTTERS,
): Array<{ from: number; to: number; kind: 'rule' | 'gutter' }> {
  const { x0, x1, top, bottom } = box;
  const inkH = bottom - top;
  if (inkH < 4) return [];
  const col = columnInk(m, x0, x1, top, bottom);
  const ends = inkEnds(col, inkH, opts);
  if (!ends) return [];
  const [first, last] = [x0 + ends[0], x0 + ends[1]];
  const cuts: Array<{ from: number; to: number; kind: 'rule' | 'gutter' }> = [];
  // Ruling lines: ink down the whole band, reaching past it above and below, thin.
  for (let x = first + 1; x < last; x++) {
    // A rule a pixel off vertical or broken by the scan: its rows are counted in a 3-pixel strip.
    if (inkIn(m, x - 1, top, x + 2, bottom) < 0.8 * inkH) continue;
    let rows = 0;
    for (let y = top; y < bottom; y++) if (inkIn(m, x - 1, y, x + 2, y + 1) > 0) rows++;
    if (rows < 0.7 * inkH) continue;
    const rule = ruleAt(m, x, top, bottom);
    if (!rule) continue;
    const [from, to] = rule;
    if (inkIn(m, first, top, from, bottom) === 0 || inkIn(m, to, top, last + 1, bottom) === 0) {
      x = to;
      continue;
    }
    cuts.push({ from, to, kind: 'rule' });
    x = to;
  }
  // Gutters: blank runs between the first and last ink wide enough to be tested.
  const strip = Math.max(2, Math.round(opts.minStrip * inkH));
  for (let x = first + 1; x < last;) {
    if (col[x - x0] > 0) {
      x++;
      continue;
    }
    let b = x;
    while (b < last && col[b - x0] === 0) b++;
    const a = x;
    x = b;
    if (b - a < strip || cuts.some((c) => c.from < b && c.to > a)) continue;
    const g = (b - a) / inkH;
    const need = g < opts.widths[0] ? opts.rows[0] : g < opts.widths[1] ? opts.rows[1] : opts.rows[2];
    const step = Math.max(1, Math.floor(strip / 3));
    for (let c = a; c + strip <= b; c += step) {
      if (supportRows(m, c, c + strip, box, all, need) >= need) {
        cuts.push({ from: a, to: b, kind: 'gutter' });
        break;
      }
    }
  }
  cuts.sort((p, q) => p.from - q.from);
  // A speck of the scan between two gutter cuts is not a piece: one gutter.
  const speck = SPECK * inkH * inkH;
  for (let i = 1; i < cuts.length; i++) {
    const [p, q] = [cuts[i - 1], cuts[i]];
    if (p.kind === 'gutter' && q.kind === 'gutter' && inkIn(m, p.to, top, q.from, bottom) < speck)
      cuts.splice(--i, 2, { from: p.from, to: q.to, kind: 'gutter' });
  }
  return cuts;
}

/**
 * The rule through column x as [from, to), or null: ink in a 3-pixel strip (a rule a little
 * off vertical still counts) over the band and at least 15% of its height past it on both sides,
 * 1.4× the band in all, and thin where it runs alone (above and below the text).
 */
function ruleAt(m: InkMap, x: number, top: number, bottom: number): [number, number] | null {
  const h = bottom - top;
  const inkRow = (y: number) => inkIn(m, x - 1, y, x + 2, y + 1) > 0;
  const reach = (from: number, dir: 1 | -1) => {
    let n = 0;
    let miss = 0;
    for (let y = from; y >= 0 && y < m.height && n < 3 * h; y += dir) {
      if (inkRow(y)) {
        n += 1 + miss;
        miss = 0;
      } else if (++miss > 2) break;
    }
    return n;
  };
  const up = reach(top - 1, -1);
  const down = reach(bottom, 1);
  if (up < 0.15 * h || down < 0.15 * h || up + down + h < 1.4 * h) return null;
  // Past the text, a rule is a solid line on paper: one of its columns inked in most rows there,
  // the paper beside it mostly clear (dense noise also inks every row of a 3-pixel strip).
  const past = (x0: number, x1: number) => inkIn(m, x0, top - up, x1, top) + inkIn(m, x0, bottom, x1, bottom + down);
  const rows = up + down;
  if (Math.max(past(x - 1, x), past(x, x + 1), past(x + 1, x + 2)) < 0.75 * rows) return null;
  if (past(x - 6, x - 2) > 0.25 * 4 * rows || past(x + 3, x + 7) > 0.25 * 4 * rows) return null;
  // Its width on a row above or below the text, where nothing else should be near.
  const thin = Math.max(3, Math.round(0.15 * h));
  const probe = Math.max(0, top - Math.ceil(up / 2));
  let from = x;
  let to = x + 1;
  const dark = (xx: number, y: number) => inkIn(m, xx, y, xx + 1, y + 1) > 0;
  if (!dark(x, probe)) {
    if (dark(x - 1, probe)) from = x - 1;
    else if (dark(x + 1, probe)) from = x + 1;
    to = from + 1;
  }
  while (from > 0 && dark(from - 1, probe) && to - from <= thin) from--;
  while (to < m.width && dark(to, probe) && to - from <= thin) to++;
  if (to - from > thin) return null;
  // The rule's full width in the band: the dark columns next to it there.
  return [Math.min(from, x), Math.max(to, x + 1)];
}

/**
 * Text rows (clusters of boxes by height) of the box's own text size within the strip's blank
 * run up and down the page that have a word within 1.5 ink heights on both sides of the strip.
 */
function supportRows(m: InkMap, a: number, b: number, box: MapBox, all: MapBox[], enough: number): number {
  const inkH = box.bottom - box.top;
  const bridge = Math.max(1, Math.round(0.08 * inkH));
  const blank = (y: number) => inkIn(m, a, y, b, y + 1) === 0;
  const walk = (from: number, dir: 1 | -1) => {
    let y = from;
    let miss = 0;
    let end = from;
    for (; y >= 0 && y < m.height; y += dir) {
      if (blank(y)) {
        miss = 0;
        end = y;
      } else if (++miss > bridge) break;
    }
    return end;
  };
  const ya = walk(box.top - 1, -1);
  const yb = walk(box.bottom, 1) + 1;
  if (yb - ya < (enough - 0.5) * inkH) return 0;
  const reach = 1.5 * inkH;
  const rows: number[] = [];
  // `all` is in order of the boxes' middles (planPage sorts it): the first within reach by bisection.
  let lo = 0;
  for (let hi = all.length; lo < hi;) {
    const mid = (lo + hi) >> 1;
    if ((all[mid].top + all[mid].bottom) / 2 < ya) lo = mid + 1;
    else hi = mid;
  }
  for (let k = lo; k < all.length; k++) {
    const o = all[k];
    const cy = (o.top + o.bottom) / 2;
    if (cy > yb) break;
    if (o.x1 < a - reach || o.x0 > b + reach) continue;
    const h = o.bottom - o.top;
    // Lines of another size are another structure: a headline across the columns whose word
    // space sits over the gutter below it is not cut by the body's gutter.
    if (h < 0.7 * inkH || h > inkH / 0.7) continue;
    const t = cy - h / 4;
    const u = cy + h / 4;
    if (inkIn(m, a, t, b, u) > 0) continue;
    // A word on each side, not a lone narrow glyph: a tabular "1" leaves a blank as wide as a
    // word space beside it, lined up down a whole column of numbers.
    const gap = Math.max(2, Math.round(0.2 * inkH));
    if (wordWidth(m, a - 1, t, u, -1, reach, gap) >= 0.8 * inkH && wordWidth(m, b, t, u, 1, reach, gap) >= 0.8 * inkH) rows.push(cy);
  }
  rows.sort((p, q) => p - q);
  let n = 0;
  for (let i = 0; i < rows.length; i++) if (i === 0 || rows[i] - rows[i - 1] > 0.5 * inkH) n++;
  return n;
}

/**
 * Width of the first run of ink met from column x going `dir` (within `reach`) in rows [t, u),
 * ended by a blank run of `gap` columns: a word, or a glyph standing alone. 0 when none.
 */
function wordWidth(m: InkMap, x: number, t: number, u: number, dir: 1 | -1, reach: number, gap: number): number {
  const inkAt = (xx: number) => xx >= 0 && xx < m.width && inkIn(m, xx, t, xx + 1, u) > 0;
  let from = x;
  while (!inkAt(from)) {
    from += dir;
    if (Math.abs(from - x) > reach || from < 0 || from >= m.width) return 0;
  }
  let end = from;
  for (let xx = from, blank = 0; xx >= 0 && xx < m.width && blank < gap; xx += dir) {
    if (inkAt(xx)) {
      end = xx;
      blank = 0;
    } else blank++;
  }
  return Math.abs(end - from) + 1;
}

/** A piece of a box to read: [from, to) along it (fractions), and where its ink lies within that. */
export interface Piece {
  from: number;
  to: number;
  /** Its edges at a cut are the ink's: the box it is reported in leaves the gutter blank. */
  inkFrom: number;
  inkTo: number;
}

export const WHOLE: Piece = { from: 0, to: 1, inkFrom: 0, inkTo: 1 };

/**
 * Cuts → pieces of the box: a rule is left out, a gutter is split at its middle (the recogniser
 * reads a piece with paper around its words). Pieces with no ink read nothing and are dropped then.
 */
export function cutsToPieces(
  box: MapBox,
  cuts: Array<{ from: number; to: number; kind: 'rule' | 'gutter' }>,
  trim: { left: boolean; right: boolean } = { left: true, right: true },
): Piece[] {
  const span = box.right - box.left || 1;
  const t = (x: number) => Math.min(1, Math.max(0, (x - box.left) / span));
  // Reported boxes end a little past the ink at an end `trim` names (where the detector's margin
  // reaches into a narrow gutter and the next column's box begins there).
  const margin = 0.15 * (box.bottom - box.top);
  const inkEnd = trim.right ? t(box.inkRight + 1 + margin) : 1;
  const pieces: Piece[] = [];
  let start = 0;
  let inkStart = trim.left ? t(box.inkLeft - margin) : 0;
  if (cuts.length === 0) return [{ ...WHOLE, inkFrom: inkStart, inkTo: inkEnd }];
  for (const c of cuts) {
    const [end, next] = c.kind === 'rule' ? [t(c.from), t(c.to)] : [t((c.from + c.to) / 2), t((c.from + c.to) / 2)];
    if (end > start) pieces.push({ from: start, to: end, inkFrom: inkStart, inkTo: t(c.from) });
    start = next;
    inkStart = t(c.to);
  }
  if (start < 1) pieces.push({ from: start, to: 1, inkFrom: inkStart, inkTo: inkEnd });
  return pieces.filter((p) => p.to - p.from > 1e-3);
}
