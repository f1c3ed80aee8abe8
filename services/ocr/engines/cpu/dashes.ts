// Hyphen, en dash or em dash, told by the length of the printed bar. The recogniser's dictionary
// has "-" and "—" but no "–": typeset ranges and compounds ("2018–23–51", "pp. 12–14",
// "FAA–2020–0686") read as hyphens, and a wide dash at a line's end as "--". The three are one
// shape at three lengths, which type design keeps apart in every text face: a hyphen's bar is
// about a quarter to a third of an em, an en dash's half an em (the width of a figure), an em
// dash's a whole em. The line's cap height (~0.7 em: capitals, figures, ascenders) is the ruler.
import { paperLevel, type LineCrop } from './line-crops.ts';

/**
 * Bar length / cap height. Measured on 367 dashes of the real pages (bench/real-eval.ts, read
 * against their truths): hyphens 0.35–0.5 in most faces, up to 0.74 in a face with long hyphens
 * (Garamond-like); en dashes 0.6–1.0, the shortest in a condensed sans table face; em dashes
 * 1.6–1.9. With these bounds 7 of the 367 come out wrong, 5 of them bars that were mis-measured.
 * From EN_DASH a bar is an en dash; between MAYBE_EN and EN_DASH only where it stands between
 * figures or before a number (a range, a minus: numberRange), where print sets en dashes.
 */
export const MAYBE_EN = 0.55;
export const EN_DASH = 0.72;
export const EM_DASH = 1.3;

/**
 * The dash chars[i..j] stands where typeset print uses an en dash: a figure after it, and a
 * figure or no word before it ("51.1–56.4", "(–0.4)"). "1.8-percent" and "COVID-19" are not.
 */
function numberRange(chars: string[], i: number, j: number): boolean {
  const before = chars[i - 1] ?? '';
  const after = chars[j + 1] ?? '';
  return /\p{Nd}/u.test(after) && !/\p{L}/u.test(before) && !/[-–—]/.test(before);
}

const DASHES = /[-—]/;

/**
 * `text` with each hyphen or em dash the recogniser read set to the dash its printed bar's length
 * says. `at[i]` is the crop column where text[i] was read (NaN where the decoder put a space). Two
 * hyphens read over one unbroken bar ("--") are one dash. Where no bar can be measured (a crop
 * without a clear line of type, the dash touching a neighbour) the reading stays.
 */
export function typesetDashes(text: string, at: number[], crop: LineCrop): string {
  if (!DASHES.test(text)) return text;
  const ruler = lineRuler(crop, text);
  if (!ruler) return text;
  const chars = [...text];
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (!DASHES.test(c) || !Number.isFinite(at[i])) {
      out += c;
      continue;
    }
    const bar = dashBar(crop, ruler, at[i]);
    if (!bar) {
      out += c;
      continue;
    }
    // A second hyphen read on the same bar is the same glyph.
    let j = i;
    while (j + 1 < chars.length && DASHES.test(chars[j + 1]) && Number.isFinite(at[j + 1]) && at[j + 1] >= bar.from - 1 && at[j + 1] <= bar.to + 1) j++;
    const ratio = (bar.to - bar.from + 1) / ruler.capHeight;
    const read = chars.slice(i, j + 1).join('');
    out += ratio >= EM_DASH ? '—' : ratio >= EN_DASH ? '–' : ratio >= MAYBE_EN && numberRange(chars, i, j) ? '–' : j > i ? read : '-';
    i = j;
  }
  return out;
}

/** Characters that reach the cap height: capitals, figures, ascenders, dotted letters, brackets, quotes. */
const TALL = /[\p{Lu}\p{Nd}bdfhiklt!?()[\]{}/\\|%&$#@'"‘’“”]/u;
/** Cap height / x-height in text faces (0.66–0.72 em over 0.45–0.52 em): a line of small letters only. */
const X_TO_CAP = 1.45;

interface Ruler {
  /** Pixels darker than this are ink. */
  dark: number;
  /** Top of the capitals and ascenders, and the baseline (rows of the crop). */
  top: number;
  base: number;
  capHeight: number;
  /** Rows that belong to this line (the crop's edges may catch a neighbour's ascenders or descenders). */
  from: number;
  to: number;
  grey: Uint8Array;
}

/**
 * The line's cap height, measured from its ink. The line's rows are the run of inked rows around
 * the densest (a neighbouring line caught at the crop's edge lies past a blank row); the baseline
 * is the lowest of them at least half as dense as the densest (letters stand on it, descenders
 * are few). Each inked column reaches the x-height (small letters) or the cap height (capitals,
 * figures, ascenders) above it. The reading says what share of the line's characters are tall:
 * the cap height is the reach of the middle of that share of the columns, so a line of small
 * letters with a few ascenders is still measured by them, and one with none by its x-height.
 */
export function lineRuler(crop: LineCrop, text: string): Ruler | null {
  const { data, width, height } = crop;
  const grey = new Uint8Array(width * height);
  const hist = new Uint32Array(256);
  for (let i = 0, p = 0; i < grey.length; i++, p += 3) {
    grey[i] = Math.round((data[p] + data[p + 1] + data[p + 2]) / 3);
    hist[grey[i]]++;
  }
  const paper = paperLevel(crop);
  // The ink level: the darkest 3% of the crop.
  let ink = 0;
  for (let v = 0, seen = 0; v < 256; v++) {
    if ((seen += hist[v]) >= 0.03 * grey.length) {
      ink = v;
      break;
    }
  }
  if (paper - ink < 60) return null;
  const dark = (paper + ink) / 2;
  const isInk = (x: number, y: number) => grey[y * width + x] < dark;
  const rows = new Uint32Array(height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (isInk(x, y)) rows[y]++;
  let peak = 0;
  for (let y = 1; y < height; y++) if (rows[y] > rows[peak]) peak = y;
  if (rows[peak] === 0) return null;
  const blank = Math.max(1, 0.01 * rows[peak]);
  let from = peak;
  let to = peak;
  while (from > 0 && rows[from - 1] > blank) from--;
  while (to < height - 1 && rows[to + 1] > blank) to++;
  let base = peak;
  for (let y = to; y > peak; y--) {
    if (rows[y] >= 0.5 * rows[peak]) {
      base = y;
      break;
    }
  }
  // Each inked column's height above the baseline.
  const reach: number[] = [];
  for (let x = 0; x < width; x++) {
    for (let y = from; y <= base; y++) {
      if (isInk(x, y)) {
        reach.push(base - y + 1);
        break;
      }
    }
  }
  if (reach.length < 4) return null;
  reach.sort((p, q) => p - q);
  // The share of tall characters in the reading says how high up the sorted reaches to look.
  const glyphs = [...text.replace(/\s+/g, '')];
  const tall = glyphs.filter((c) => TALL.test(c)).length / Math.max(1, glyphs.length);
  const capHeight = tall > 0 ? reach[Math.floor(Math.min(0.97, 1 - tall / 2) * (reach.length - 1))] : Math.round(X_TO_CAP * reach[reach.length >> 1]);
  if (capHeight < 8) return null;
  const top = base + 1 - capHeight;
  return { dark, top, base, capHeight, from, to, grey };
}

/**
 * The horizontal bar nearest column `x`: the run of columns whose only ink is one thin stroke
 * lying between the baseline and the cap height, away from both (a hyphen sits at half the
 * x-height). Null where none lies within half a cap height of `x`.
 */
export function dashBar(crop: LineCrop, ruler: Ruler, x: number): { from: number; to: number } | null {
  const { width } = crop;
  const { grey, dark, top, base, capHeight, from: rowFrom, to: rowTo } = ruler;
  const thick = Math.max(2, Math.round(0.22 * capHeight));
  const lo = top + 0.2 * capHeight;
  const hi = base - 0.12 * capHeight;
  // Each column: its ink rows, if they form one thin run inside the band; -1 otherwise, -2 if no ink.
  const barRow = (c: number) => {
    let first = -1;
    let last = -1;
    let count = 0;
    for (let y = rowFrom; y <= rowTo; y++) {
      if (grey[y * width + c] >= dark) continue;
      if (first < 0) first = y;
      last = y;
      count++;
    }
    if (first < 0) return -2;
    if (last - first + 1 > thick || count !== last - first + 1 || first < lo || last > hi) return -1;
    return (first + last) / 2;
  };
  const reach = Math.round(capHeight / 2);
  const rowOf = new Map<number, number>();
  const row = (c: number) => {
    if (!rowOf.has(c)) rowOf.set(c, barRow(c));
    return rowOf.get(c)!;
  };
  const x0 = Math.round(x);
  for (let d = 0; d <= reach; d++) {
    for (const c of d === 0 ? [x0] : [x0 - d, x0 + d]) {
      if (c < 0 || c >= width || row(c) < 0) continue;
      const mid = row(c);
      // Widen over neighbouring bar columns at about the same height (a bar is level).
      let from = c;
      let to = c;
      while (from > 0 && row(from - 1) >= 0 && Math.abs(row(from - 1) - mid) <= thick / 2) from--;
      while (to < width - 1 && row(to + 1) >= 0 && Math.abs(row(to + 1) - mid) <= thick / 2) to++;
      return { from, to };
    }
  }
  return null;
}
