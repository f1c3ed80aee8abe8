// Reading order for layout.ts, the way a reader takes a page: running head first; the body by a
// recursive XY-cut (columns left to right, full-width blocks where they sit, a grid of sections
// row by row); small-type notes at the foot of columns after all the text of those columns;
// margin sidebars after the body; notes set sideways in the margin, then the footer, last.
import type { BBox } from '../../shared/bus/messages.ts';
import type { Segment } from './layout-lines.ts';
import type { Table } from './layout-table.ts';
import { bandIsFurniture, furnitureType, isSideways, isStamp, type Furniture } from './layout-furniture.ts';

export type Unit = { kind: 'seg'; seg: Segment; bbox: BBox } | { kind: 'table'; table: Table; bbox: BBox };

/** Units read together top to bottom; `role` marks furniture, notes and sidebars. */
export interface Leaf {
  units: Unit[];
  role?: Furniture | 'footnote' | 'sidebar';
}

interface Ctx {
  /** Height of one line of text (median over lines). */
  line: number;
  /** Size of the body text (char-weighted). */
  body: number;
}

const cy = (b: BBox) => (b[1] + b[3]) / 2;
const cx = (b: BBox) => (b[0] + b[2]) / 2;
const textOf = (u: Unit) => (u.kind === 'seg' ? u.seg.text : u.table.cells.flat().join(' '));
const sizeOf = (u: Unit) => (u.kind === 'seg' ? u.seg.size : Infinity);

export function readingOrder(units: Unit[], line: number, body: number): Leaf[] {
  const ctx: Ctx = { line, body };
  const left = Math.min(...units.map((u) => u.bbox[0]));
  const right = Math.max(...units.map((u) => u.bbox[2]));
  // Sideways text beside the body and delivery stamps anywhere are furniture before any cut.
  const inner = units.filter((u) => !isSideways({ bbox: u.bbox, text: textOf(u), size: sizeOf(u) }));
  const innerLeft = Math.min(...inner.map((u) => u.bbox[0]));
  const innerRight = Math.max(...inner.map((u) => u.bbox[2]));
  const margin = units.filter(
    (u) => (!inner.includes(u) && inner.length >= 3 && (cx(u.bbox) < innerLeft || cx(u.bbox) > innerRight)) || (u.kind === 'seg' && isStamp(u.seg.text)),
  );
  const rest = units.filter((u) => !margin.includes(u));
  const middle = (Math.min(...units.map((u) => u.bbox[1])) + Math.max(...units.map((u) => u.bbox[3]))) / 2;
  if (rest.length === 0) return [{ units }];

  const piece = (u: Unit) => ({ bbox: u.bbox, text: textOf(u), size: sizeOf(u) });
  // Body size by characters can be the footnotes' on a page of long notes: the larger of it and the line size.
  const furniture = (us: Unit[]) =>
    us.length > 0 && !us.some((u) => u.kind === 'table') && bandIsFurniture(us.map(piece), Math.max(ctx.body, ctx.line), right - left);
  const found = bands(rest, ctx);
  // A top band that is not furniture (a title, a banner) is still read first, and a bottom one
  // (a last line under the columns) last, unless the band heads the columns below it: the
  // headings of a grid's first row, each flush with a column, are read with their sections.
  const heads = (band: Unit[], below: Unit[]) =>
    band.length >= 2 && band.every((u) => below.some((v) => v.bbox[1] > u.bbox[3] && Math.abs(v.bbox[0] - u.bbox[0]) < ctx.line));
  const header =
    furniture(found.header) ||
    !heads(
      found.header,
      rest.filter((u) => !found.header.includes(u)),
    )
      ? found.header
      : [];
  const footer = found.footer;
  const main = rest.filter((u) => !header.includes(u) && !footer.includes(u));
  const band = (us: Unit[], top: boolean): Leaf[] => {
    if (us.length === 0) return [];
    if (!furniture(us)) return xyCut(us, ctx, false).main.map((u) => ({ units: u }));
    return sortReading(us).map((u) => ({ units: [u], role: furnitureType(textOf(u), top) }));
  };
  const cut = main.length ? xyCut(main, ctx, false) : { main: [], notes: [], side: [] };
  return [
    ...band(header, true),
    ...cut.main.map((u) => ({ units: u })),
    ...cut.notes.map((u): Leaf => ({ units: u, role: 'footnote' })),
    ...cut.side.map((u): Leaf => ({ units: u, role: 'sidebar' })),
    ...margin.map((u): Leaf => ({ units: [u], role: !isStamp(textOf(u)) ? 'margin_note' : cy(u.bbox) < middle ? 'page_header' : 'page_footer' })),
    ...band(footer, false),
  ];
}

/** Row by row, left to right. */
const sortReading = (us: Unit[]) =>
  [...us].sort((p, q) =>
    Math.abs(cy(p.bbox) - cy(q.bbox)) > 0.5 * Math.min(p.bbox[3] - p.bbox[1], q.bbox[3] - q.bbox[1]) ? cy(p.bbox) - cy(q.bbox) : p.bbox[0] - q.bbox[0],
  );

/**
 * Running header and footer bands: at most two lines at the top or bottom of the text, apart
 * from the body by a clear gap. Left to the XY-cut, a footer's page number under the last column
 * would be read with that column, mid-page.
 */
function bands(units: Unit[], ctx: Ctx): { header: Unit[]; footer: Unit[]; body: Unit[] } {
  const ys = gaps(units, 1).filter((g) => g.to - g.at >= 0.8 * ctx.line);
  if (ys.length === 0) return { header: [], footer: [], body: units };
  const top = Math.min(...units.map((u) => u.bbox[1]));
  const bottom = Math.max(...units.map((u) => u.bbox[3]));
  let header = ys[0].at - top <= 2.5 * ctx.line ? units.filter((u) => u.bbox[3] <= ys[0].at) : [];
  let footer = bottom - ys[ys.length - 1].to <= 2.5 * ctx.line ? units.filter((u) => u.bbox[1] >= ys[ys.length - 1].to) : [];
  // One gap on a short page: the smaller side is the band, the other the body.
  if (ys.length === 1 && header.length && footer.length) {
    if (header.length <= footer.length) footer = [];
    else header = [];
  }
  const body = units.filter((u) => !header.includes(u) && !footer.includes(u));
  if (body.length === 0) return { header: [], footer: [], body: units };
  return { header, footer, body };
}

/** Reading order of a region: the body in order, notes owed to its columns, sidebars. */
interface Cut {
  main: Unit[][];
  notes: Unit[][];
  side: Unit[][];
}

/**
 * Recursive XY-cut. A column gutter (a vertical gap with several lines on both sides) is cut
 * first, so columns are read whole, unless a band across it parts a grid of sections (each
 * opening with a heading), which is read row by row. Without a gutter the region is cut across;
 * when a wide unit (a title, an abstract, a table, a caption over columns) is what blocks a
 * gutter, the cut goes just above or below it, not at some other horizontal gap that happens to
 * cross every column (aligned paragraph breaks), which would read the columns band by band.
 */
function xyCut(units: Unit[], ctx: Ctx, column: boolean): Cut {
  if (column) {
    const { rest, notes } = footOfColumn(units, ctx);
    if (notes.length) {
      const cut = xyCut(rest, ctx, false);
      return { main: cut.main, notes: [...cut.notes, notes], side: cut.side };
    }
  }
  if (units.length <= 1) return { main: [units], notes: [], side: [] };
  const x = gutter(units, ctx.line);
  const ys = gaps(units, 1);
  if (x !== null) {
    const band = sectionBreak(units, x, ys, ctx);
    if (band !== null) return across(units, band, ctx);
    const head = headBand(units, x, ys, ctx);
    if (head !== null) return across(units, head, ctx);
    return down(units, x, ctx);
  }
  if (ys.length === 0) return { main: [units], notes: [], side: [] };
  const left = Math.min(...units.map((u) => u.bbox[0]));
  const right = Math.max(...units.map((u) => u.bbox[2]));
  const wide = units.filter((u) => u.bbox[2] - u.bbox[0] > 0.5 * (right - left));
  const narrow = units.filter((u) => !wide.includes(u));
  if (wide.length > 0 && narrow.length >= 2 && gutter(narrow, ctx.line) !== null) {
    const beside = ys.filter((g) => wide.some((u) => g.to === u.bbox[1] || g.at === u.bbox[3]));
    if (beside.length > 0) return across(units, widest(beside).at, ctx);
  }
  return across(units, widest(ys).at, ctx);
}

const widest = (gs: Array<{ at: number; to: number }>) => gs.reduce((p, q) => (q.to - q.at > p.to - p.at ? q : p));

/** Cut across at y: the notes of the columns above are read before what comes below. */
function across(units: Unit[], at: number, ctx: Ctx): Cut {
  const a = xyCut(
    units.filter((u) => u.bbox[3] <= at),
    ctx,
    false,
  );
  const b = xyCut(
    units.filter((u) => u.bbox[3] > at),
    ctx,
    false,
  );
  return { main: [...a.main, ...a.notes, ...b.main], notes: b.notes, side: [...a.side, ...b.side] };
}

/** Cut down at x: columns left to right; a narrow column at the edge of the text is a sidebar. */
function down(units: Unit[], at: number, ctx: Ctx): Cut {
  const l = units.filter((u) => u.bbox[2] <= at);
  const r = units.filter((u) => u.bbox[2] > at);
  const a = xyCut(l, ctx, true);
  const b = xyCut(r, ctx, true);
  const sideOf = (c: Cut) => [...c.main, ...c.notes, ...c.side];
  if (isSidebar(l, r, ctx)) return { main: b.main, notes: b.notes, side: [...sideOf(a), ...b.side] };
  if (isSidebar(r, l, ctx)) return { main: a.main, notes: a.notes, side: [...a.side, ...sideOf(b)] };
  return { main: [...a.main, ...b.main], notes: [...a.notes, ...b.notes], side: [...a.side, ...b.side] };
}

const widthOf = (us: Unit[]) => Math.max(...us.map((u) => u.bbox[2])) - Math.min(...us.map((u) => u.bbox[0]));
const heightOf = (us: Unit[]) => Math.max(...us.map((u) => u.bbox[3])) - Math.min(...us.map((u) => u.bbox[1]));

/**
 * A margin sidebar (a byline, an author note, a pull quote beside the body): a column under
 * half as wide as the body beside it, shorter than it, in type no larger. Set in smaller type
 * than the body beside it, it is a sidebar whatever its lines happen to line up with: the body
 * columns of one article share their type, and print sets what stands apart from the text
 * (notes, pull quotes, marginalia) smaller. In the body's type, its lines must not pair up with
 * the body's (labels beside fields do: those are read row by row).
 */
function isSidebar(side: Unit[], other: Unit[], ctx: Ctx): boolean {
  if (side.length < 2 || other.length < 4 || side.some((u) => u.kind === 'table')) return false;
  if (widthOf(side) > 0.45 * widthOf(other) || heightOf(side) > 0.8 * heightOf(other)) return false;
  const size = side.reduce((n, u) => n + sizeOf(u), 0) / side.length;
  if (size > 1.1 * ctx.body) return false;
  if (setSmaller(side, other)) return true;
  const paired = side.filter((s) => other.some((o) => Math.abs(cy(o.bbox) - cy(s.bbox)) < 0.25 * ctx.line)).length;
  return paired < 0.6 * side.length;
}

/**
 * Whether a column is set in smaller type than the text beside it, told by pitch as the notes at
 * a column's foot are (OCR boxes of 8 pt and 10 pt lines are about as tall): most of its lines
 * are long enough to measure (a column of short labels is not judged), their median is set
 * closer than the median line beside it, and most of them each are.
 */
function setSmaller(us: Unit[], beside: Unit[]): boolean {
  const pitches = (xs: Unit[]) => xs.map(pitchOf).filter((p): p is number => p !== undefined);
  const own = pitches(us);
  const theirs = pitches(beside);
  if (own.length < 2 || 2 * own.length < us.length || theirs.length < 4) return false;
  const their = median(theirs);
  return median(own) <= NOTE_BLOCK_PITCH * their && own.filter((p) => p <= NOTE_PITCH * their).length >= NOTE_SHARE * own.length;
}

/**
 * Notes at the foot of a column: the lowest units, set in smaller type than the column's own text
 * (its upper half), apart from the text above by a gap. Read after all the columns beside it, so
 * that sentences running from one column into the next stay whole.
 *
 * Smaller type shows in the height of the boxes (a text layer's font size), but an OCR detector
 * pads its boxes to much the same height at 8 and 10 points: there it shows in the pitch, more
 * characters to the inch. A line too short to measure either way (a note's last word or two)
 * goes with the notes around it, but does not open them. The notes may run over several gaps
 * (one between notes, one under the rule above them); the highest gap under which the lines are
 * in note type is where they begin.
 */
function footOfColumn(units: Unit[], ctx: Ctx): { rest: Unit[]; notes: Unit[] } {
  const none = { rest: units, notes: [] };
  if (units.length < 3) return none;
  const sorted = [...units].sort((p, q) => p.bbox[1] - q.bbox[1]);
  const upper = sorted.slice(0, Math.ceil(sorted.length / 2)).filter((u) => u.kind === 'seg');
  if (upper.length === 0) return none;
  const own = Math.max(median(upper.map(sizeOf)), 0.9 * ctx.body);
  const pitches = upper.map(pitchOf).filter((p): p is number => p !== undefined);
  const ownPitch = pitches.length >= 4 ? median(pitches) : undefined;
  // Only lines with a tall letter count by height: an OCR box of x-height letters alone ("a wave over sea") is short at any size.
  const smallSize = (u: Unit) => u.kind === 'seg' && /[A-Z0-9bdfhklt(]/.test(u.seg.text) && sizeOf(u) <= 0.85 * own;
  const closer = (u: Unit) => ownPitch !== undefined && (pitchOf(u) ?? Infinity) <= NOTE_PITCH * ownPitch;
  const unsure = (u: Unit) => u.kind === 'seg' && pitchOf(u) === undefined && sizeOf(u) <= 1.15 * own;
  // The notes open below a gap with a line that shows its type. By height every line under it
  // must be small (a text layer's sizes are exact); by pitch most of them must be set closer,
  // for a scan's OCR drops letters from some lines and so stretches them.
  const opens = (i: number) =>
    (smallSize(sorted[i]) || closer(sorted[i])) && sorted[i].bbox[1] - Math.max(...sorted.slice(0, i).map((u) => u.bbox[3])) >= 0.5 * ctx.line;
  const inNoteType = (notes: Unit[]) => {
    if (notes.every((u) => smallSize(u) || unsure(u))) return true;
    const measured = notes.filter((u) => pitchOf(u) !== undefined);
    if (ownPitch === undefined || measured.length < 2 || median(measured.map((u) => pitchOf(u)!)) > NOTE_BLOCK_PITCH * ownPitch) return false;
    return measured.filter(closer).length >= NOTE_SHARE * measured.length;
  };
  for (let i = 1; i < sorted.length; i++) {
    if (opens(i) && inNoteType(sorted.slice(i))) return { rest: sorted.slice(0, i), notes: sorted.slice(i) };
  }
  return none;
}

/** Note type is about 8 points beside 10: a line of it holds some 20% more characters. */
const NOTE_PITCH = 0.92;
const NOTE_BLOCK_PITCH = 0.88;
const NOTE_SHARE = 0.8;

/**
 * Width per lower-case letter's width of a line long enough to measure; undefined otherwise.
 * Capitals are set about half as wide again as lower case, spaces and stops about half as wide:
 * counted alike, a line in capitals ("EQUAL EMPLOYMENT") would look set in larger type than one
 * in lower case beside it.
 */
function pitchOf(u: Unit): number | undefined {
  if (u.kind !== 'seg') return undefined;
  let ems = 0;
  for (const c of u.seg.text.trim()) ems += /\p{Lu}/u.test(c) ? 1.45 : /[\p{Ll}\p{N}]/u.test(c) ? 1 : /\s/.test(c) ? 0.55 : 0.7;
  return ems < 12 ? undefined : (u.bbox[2] - u.bbox[0]) / ems;
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

/**
 * A gap across a gutter that parts a grid of sections: it crosses both columns, is wider than
 * the leading, and each column opens with a heading both above and below it. In running columns
 * the top of the next column continues the text, so columns are read whole there.
 */
function sectionBreak(units: Unit[], x: number, ys: Array<{ at: number; to: number }>, ctx: Ctx): number | null {
  const cands = ys.filter((g) => g.to - g.at >= 1.2 * ctx.line);
  for (const g of cands.sort((p, q) => q.to - q.at - (p.to - p.at))) {
    const parts = [
      units.filter((u) => u.bbox[3] <= g.at && u.bbox[2] <= x),
      units.filter((u) => u.bbox[3] <= g.at && u.bbox[2] > x),
      units.filter((u) => u.bbox[3] > g.at && u.bbox[2] <= x),
      units.filter((u) => u.bbox[3] > g.at && u.bbox[2] > x),
    ];
    if (parts.some((p) => p.length < 2)) continue;
    if (
      parts.every((p) =>
        isHeading(
          p.reduce((a, b) => (b.bbox[1] < a.bbox[1] ? b : a)),
          ctx,
        ),
      )
    )
      return g.at;
  }
  return null;
}

/**
 * A masthead band over the columns: a few lines at the top of the region on both sides of the
 * gutter (a title at the left and the date at the right, a notice's number beside the
 * agency's name), parted from the columns below by a gap wider than the leading. A reader takes
 * it first, left to right, then the columns; cut down the gutter first, its right half would be
 * read after the whole first column. Headings that merely open each column sit a normal gap
 * above their text, and the columns below must be many times as tall as the band.
 */
function headBand(units: Unit[], x: number, ys: Array<{ at: number; to: number }>, ctx: Ctx): number | null {
  const top = Math.min(...units.map((u) => u.bbox[1]));
  const cands = ys.filter((g) => g.to - g.at >= HEAD_GAP * ctx.line && g.at - top <= HEAD_LINES * ctx.line);
  if (cands.length === 0) return null;
  const g = widest(cands);
  const above = units.filter((u) => u.bbox[3] <= g.at);
  const below = units.filter((u) => u.bbox[3] > g.at);
  if (!above.some((u) => u.bbox[2] <= x) || !above.some((u) => u.bbox[0] >= x)) return null;
  if (heightOf(below) < 4 * heightOf(above) || gutter(below, ctx.line) === null) return null;
  return g.at;
}

/** The gap under a masthead, in lines: a rule with space on both sides, not a paragraph's or a heading's spacing. */
const HEAD_GAP = 1.2;
/** A masthead's height, in lines: a title and two or three lines of issue data. */
const HEAD_LINES = 5;

/** Larger than the body, or a short line in capitals. */
function isHeading(u: Unit, ctx: Ctx): boolean {
  if (u.kind !== 'seg') return false;
  const t = u.seg.text.trim();
  if (u.seg.size >= 1.15 * ctx.body) return true;
  return t.length <= 60 && /\p{Lu}{3}/u.test(t) && t === t.toUpperCase();
}

/**
 * The widest vertical gap with several lines on both sides; a lone field beside a block is read by
 * rows. A narrow gap needs three lines a side: in justified narrow columns the word spaces are as
 * wide as the gutter and the detector boxes words apart, so two lines' gaps line up by chance
 * (then "quarter. The finance / department recorded steady" was read as two columns). A gap
 * narrower still is a gutter when it runs down many lines on both sides: an OCR detector pads
 * its boxes into the gutter (a 25 px gutter at 200 dpi leaves 5 to 10 px between boxes, and
 * less on a blurred scan), and no chance line-up of word spaces runs clear down six lines.
 */
function gutter(units: Unit[], line: number): number | null {
  const xs = gaps(units, 0).filter((g) => g.to - g.at >= 0.1 * line);
  xs.sort((p, q) => q.to - q.at - (p.to - p.at));
  for (const g of xs) {
    const side = (left: boolean) => units.filter((u) => u.bbox[2] <= g.at === left);
    const width = g.to - g.at;
    const rows = width >= 2.5 * line ? 0.8 : width >= 0.3 * line ? 1.8 : 6;
    const count = width >= 0.3 * line ? 2 : 4;
    // A table is many lines in one unit: a table beside a text column is a column of its own.
    const tall = (us: Unit[]) => us.some((u) => u.kind === 'table' && u.bbox[3] - u.bbox[1] >= (rows + 1) * line);
    const lines = (us: Unit[]) =>
      tall(us) || (us.length >= count && Math.max(...us.map((u) => cy(u.bbox))) - Math.min(...us.map((u) => cy(u.bbox))) >= rows * line);
    if (lines(side(true)) && lines(side(false))) return g.at;
  }
  return null;
}

/** Empty bands between the units' projections on one axis (0 = x, 1 = y): from `at` to `to`. */
function gaps(units: Unit[], axis: 0 | 1): Array<{ at: number; to: number }> {
  if (units.length < 2) return [];
  const spans = units.map((u) => [u.bbox[axis], u.bbox[axis + 2]] as const).sort((p, q) => p[0] - q[0]);
  let end = spans[0][1];
  const out: Array<{ at: number; to: number }> = [];
  for (const [s, e] of spans.slice(1)) {
    if (s > end) out.push({ at: end, to: s });
    end = Math.max(end, e);
  }
  return out;
}
