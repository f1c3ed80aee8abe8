// The recogniser drops a final full stop or comma that the detector's box leaves at its edge
// ("31,2011" for "31, 2011."): a level box is read a little further where one small mark stands
// past its end, and nowhere else.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { trailingMarkReach, type RawImage } from '../services/ocr/engines/cpu/line-crops.ts';
import type { Quad } from '../services/ocr/engines/cpu/paddle.ts';

const W = 400;
const H = 60;
/** White paper with black rectangles [x0, y0, x1, y1). */
function page(...rects: Array<[number, number, number, number]>): RawImage {
  const data = new Uint8Array(W * H * 3).fill(255);
  for (const [x0, y0, x1, y1] of rects) for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data.fill(0, (y * W + x) * 3, (y * W + x) * 3 + 3);
  return { data, width: W, height: H };
}
// A line of type 20 px high from x 20 to 200; its box ends at the last letter.
const letters = Array.from({ length: 9 }, (_, i) => [22 + i * 20, 20, 36 + i * 20, 40] as [number, number, number, number]);
const box: Quad = [
  [20, 16],
  [200, 16],
  [200, 44],
  [20, 44],
];

describe('reading a box past its end to take in a final mark', () => {
  it('reaches a full stop just past the box, and no further than a little past it', () => {
    const reach = trailingMarkReach(page(...letters, [201, 36, 205, 40]), box, 0.4);
    assert.ok(reach > 0, 'the mark is taken in');
    assert.ok(180 * reach < 0.4 * 28 * 1.5, `reach ${(180 * reach).toFixed(1)} px stays near the mark`);
  });

  it('leaves the box as found where the band is blank, holds a letter, or a row of dots (a leader)', () => {
    assert.equal(trailingMarkReach(page(...letters), box, 0.4), 0, 'blank');
    assert.equal(trailingMarkReach(page(...letters, [203, 20, 215, 40]), box, 0.4), 0, 'the next word');
    assert.equal(trailingMarkReach(page(...letters, [203, 36, 206, 40], [212, 36, 215, 40], [221, 36, 224, 40]), box, 0.4), 0, 'a dot leader');
  });

  it('leaves a box of a character or two alone (a figure in a table cell)', () => {
    const short: Quad = [
      [20, 16],
      [50, 16],
      [50, 44],
      [20, 44],
    ];
    assert.equal(trailingMarkReach(page([22, 20, 48, 40], [52, 36, 55, 40]), short, 0.4), 0);
  });
});
