// Column gutters on a degraded scan (grey paper, blurred type, grain, dark specks): the reported
// line boxes leave the gutter open for the layout, and a speck in the gutter is not a piece of
// text. On such a scan the detector finds each column's line as a box of its own, its margin
// reaching half a text height into a narrow gutter (or over the other column's last letter), and
// a gutter cut before a speck at a box's end left a sliver read as "3152" between the columns:
// the layout then saw no gutter and read the columns' lines across (blsmlr_p65-scan, CER 71%).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawImage } from '../services/ocr/engines/cpu/line-crops.ts';
import type { Quad } from '../services/ocr/engines/cpu/line-boxes.ts';
import { planPage } from '../services/ocr/engines/cpu/page-regions.ts';
import { inkEnds } from '../services/ocr/engines/cpu/gutters.ts';

/** Deterministic pseudo-random numbers in [0, 1) (a fixed LCG), so a failure reproduces. */
function random(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
}

const box = (x0: number, y0: number, x1: number, y1: number): Quad => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
];

const H = 20; // ink height of a line
const PITCH = 30;
const LEFT = 30;
const WIDTH = 400; // a column
const GUTTER = 30; // 1.5 text heights, as a magazine's
const LINES = 14;

/**
 * Two justified columns of "words" (dark blocks) on grey paper (225), blurred (two 3×3 box
 * passes), with grain (±12) and a few dark specks of two pixels in the gutter, as a scanned and
 * JPEG-compressed page. Each column's line is a box of its own reaching `reach` px past its ink
 * into the gutter; on every third line the right box begins over the left column's last letter.
 */
function scannedColumns(reach = 10) {
  const width = LEFT * 2 + 2 * WIDTH + GUTTER;
  const height = LINES * PITCH + 60;
  const grey = new Float32Array(width * height).fill(225);
  const rnd = random(7);
  const ink = (x0: number, y0: number, x1: number, y1: number, v = 40) => {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) grey[y * width + x] = v;
  };
  const quads: Quad[] = [];
  const gutterFrom = LEFT + WIDTH;
  const gutterTo = gutterFrom + GUTTER;
  for (let l = 0; l < LINES; l++) {
    const y = 30 + l * PITCH;
    for (const x0 of [LEFT, gutterTo]) {
      const words: number[] = [];
      let used = 0;
      while (used < WIDTH - 2.5 * H) {
        const w = Math.round(H * (0.8 + rnd() * 2));
        words.push(w);
        used += w + 0.35 * H;
      }
      words.push(Math.round(WIDTH - used));
      const space = (WIDTH - words.reduce((a, b) => a + b, 0)) / (words.length - 1);
      let x = x0;
      for (const w of words) {
        ink(Math.round(x), y, Math.round(x + w), y + H);
        x += w + space;
      }
    }
    const overlap = l % 3 === 2;
    quads.push(box(LEFT - reach, y - 6, gutterFrom + reach, y + H + 6));
    quads.push(box(overlap ? gutterFrom - 6 : gutterTo - reach, y - 6, gutterTo + WIDTH + reach, y + H + 6));
    // A speck in the gutter, inside the left box's margin, on every other line.
    if (l % 2 === 1) ink(gutterFrom + reach - 3, y + 5 + (l % 7), gutterFrom + reach - 1, y + 6 + (l % 7));
  }
  for (let pass = 0; pass < 2; pass++) {
    const src = grey.slice();
    for (let y = 1; y < height - 1; y++)
      for (let x = 1; x < width - 1; x++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += src[(y + dy) * width + x + dx];
        grey[y * width + x] = s / 9;
      }
  }
  // Specks go on after the blur (dust on the scanner glass), grain over everything.
  for (let l = 1; l < LINES; l += 2) {
    const y = 30 + l * PITCH + 5 + (l % 7);
    for (const x of [gutterFrom + reach - 3, gutterFrom + reach - 2]) grey[y * width + x] = 60;
  }
  const img: RawImage = { data: new Uint8Array(width * height * 3), width, height };
  for (let i = 0; i < grey.length; i++) img.data.fill(Math.max(0, Math.min(255, Math.round(grey[i] + (rnd() - 0.5) * 24))), 3 * i, 3 * i + 3);
  return { img, quads, gutterFrom, gutterTo };
}

/** Where a piece's reported ink begins and ends, in page x (boxes here are level). */
function reported(q: Quad, p: { inkFrom: number; inkTo: number }): [number, number] {
  const [a, b] = [q[0][0], q[1][0]];
  return [a + p.inkFrom * (b - a), a + p.inkTo * (b - a)];
}

describe('gutters on a degraded scan', () => {
  test('boxes found column by column are reported to their ink: the gutter stays wider than a word space', () => {
    const { img, quads, gutterFrom, gutterTo } = scannedColumns();
    const plan = planPage(img, quads);
    for (let l = 0; l < LINES; l++) {
      const left = plan.pieces[2 * l].filter((p) => reported(quads[2 * l], p)[0] < gutterFrom);
      const right = plan.pieces[2 * l + 1].filter((p) => reported(quads[2 * l + 1], p)[1] > gutterTo);
      assert.equal(left.length, 1, `line ${l}: ${JSON.stringify(plan.pieces[2 * l])}`);
      assert.equal(right.length, 1, `line ${l}: ${JSON.stringify(plan.pieces[2 * l + 1])}`);
      const end = reported(quads[2 * l], left[0])[1];
      const start = reported(quads[2 * l + 1], right[0])[0];
      // The layout takes a gap under 0.3 of a line (here 0.3 × 32 px) for a word space.
      assert.ok(start - end >= 0.6 * GUTTER, `line ${l}: reported ${end.toFixed(1)} … ${start.toFixed(1)} across a gutter ${gutterFrom}–${gutterTo}`);
    }
  });

  test('a speck in the gutter at a box end is not read as a piece of its own', () => {
    const { img, quads, gutterFrom, gutterTo } = scannedColumns();
    const plan = planPage(img, quads);
    for (const [k, pieces] of plan.pieces.entries()) {
      for (const p of pieces) {
        const [a, b] = reported(quads[k], p);
        // A piece's ink lies in one column or the other (the right box's sliver over the left
        // column's last letter is that letter), never in the gutter alone.
        assert.ok(a < gutterFrom || b > gutterTo, `box ${k}: a piece ${a.toFixed(1)}–${b.toFixed(1)} in the gutter ${gutterFrom}–${gutterTo}`);
      }
    }
  });

  test('a line found as two boxes apart at a word space keeps the detector margins there: word spaces are no gutter', () => {
    // One column, each line's box split at a wide word space (0.9 text height) near its middle,
    // the boxes' ends 2 px past the ink: trimmed, such gaps line up down the column into a
    // "gutter" for the layout, which then reads the column's halves one after the other.
    const width = 2 * LEFT + 800;
    const img: RawImage = { data: new Uint8Array(width * 500 * 3).fill(255), width, height: 500 };
    const ink = (x0: number, y0: number, x1: number, y1: number) => {
      for (let y = y0; y < y1; y++) img.data.fill(40, 3 * (y * width + x0), 3 * (y * width + x1));
    };
    const rnd = random(3);
    const quads: Quad[] = [];
    for (let l = 0; l < 14; l++) {
      const y = 30 + l * PITCH;
      const split = 360 + Math.round(rnd() * 80);
      // Words of 0.8–2.8 text heights, spaces of 0.25–0.45, as in the columns above.
      const words = (from: number, to: number) => {
        for (let x = from; x < to;) {
          const w = Math.min(to - x, Math.round(H * (0.8 + rnd() * 2)));
          ink(x, y, x + w, y + H);
          x += w + Math.round(H * (0.25 + rnd() * 0.2));
        }
      };
      words(LEFT, split);
      words(split + 18, LEFT + 800);
      quads.push(box(LEFT - 2, y - 6, split + 2, y + H + 6), box(split + 16, y - 6, LEFT + 802, y + H + 6));
    }
    const plan = planPage(img, quads);
    for (let l = 0; l < 14; l++) {
      assert.equal(plan.pieces[2 * l].at(-1)!.inkTo, 1, `line ${l}: ${JSON.stringify(plan.pieces[2 * l])}`);
      assert.equal(plan.pieces[2 * l + 1][0].inkFrom, 0, `line ${l}: ${JSON.stringify(plan.pieces[2 * l + 1])}`);
    }
  });

  test('lines with no neighbour on their row keep the detector margin', () => {
    const { img, quads } = scannedColumns();
    const lone = quads.filter((_, i) => i % 2 === 0);
    for (const p of planPage(img, lone).pieces) assert.deepEqual([p[0].inkFrom, p[0].inkTo], [0, 1]);
  });
});

describe('inkEnds: where a box text begins and ends, specks at its ends left out', () => {
  test('a speck (two columns of one pixel) past a blank at either end is not the end', () => {
    const col = new Int32Array(120);
    col.fill(1, 2, 4); // speck
    col.fill(12, 20, 90); // text
    col.fill(1, 100, 102); // speck
    assert.deepEqual(inkEnds(col, 20), [20, 89]);
  });

  test('ink within a narrow blank of the text is the text (the full stop after a word, a thin letter)', () => {
    const col = new Int32Array(120);
    col.fill(12, 20, 90);
    col.fill(1, 92, 94);
    assert.deepEqual(inkEnds(col, 20), [20, 93]);
  });

  test('a short word past a blank is text, not a speck', () => {
    const col = new Int32Array(120);
    col.fill(12, 20, 90);
    col.fill(10, 100, 110); // "a" or "of": 100 px of ink, a speck is under 0.03 × 20² = 12
    assert.deepEqual(inkEnds(col, 20), [20, 109]);
  });

  test('nothing but specks: they are the ink; no ink at all: null', () => {
    const col = new Int32Array(50);
    col.fill(1, 10, 12);
    assert.deepEqual(inkEnds(col, 20), [10, 11]);
    assert.equal(inkEnds(new Int32Array(50), 20), null);
  });
});
