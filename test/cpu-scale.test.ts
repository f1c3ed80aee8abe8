// Detection at the scale of the text: the CPU engine measures the page's type on its ink,
// raises the detector's scale where a first look missed small type, detects large scaled pages
// in overlapping bands, and levels a skewed scan before the boxes that are read are found.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { inkBlobs, inkImage, typeHeight, missedInk, detectionScale, DETECT_TYPE, MISSED_INK, type Blob } from '../services/ocr/engines/cpu/text-scale.ts';
import { bands, bandImage, mergeBands } from '../services/ocr/engines/cpu/tiles.ts';
import { levelled, MIN_SKEW } from '../services/ocr/engines/cpu/deskew.ts';
import { skewAngle, type Point } from '../services/ocr/engines/cpu/page-geometry.ts';
import { loadPaddle, type Paddle, type Quad } from '../services/ocr/engines/cpu/paddle.ts';
import { scaled, type Decoded } from '../services/ocr/engines/cpu/page-image.ts';

/** An SVG drawing as the engine holds a page: 3-channel RGB on white. */
async function raster(width: number, height: number, body: string, rotate = 0): Promise<Decoded> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>${body}</svg>`;
  let img = sharp(Buffer.from(svg)).flatten({ background: '#ffffff' });
  if (rotate) img = sharp(await img.png().toBuffer()).rotate(rotate, { background: '#ffffff' });
  const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const WORDS = 'the quick brown fox jumps over a lazy dog while seven tax forms were filed in 2015'.split(' ');

/** Lines of prose in `size`-px type, `columns` side by side. */
function prose(size: number, lines: number, columns = 1, columnWidth = 40 * size): string {
  let out = '';
  for (let c = 0; c < columns; c++) {
    for (let i = 0; i < lines; i++) {
      const text = Array.from({ length: 8 }, (_, k) => WORDS[(i * 5 + k * 3 + c) % WORDS.length]).join(' ');
      out += `<text x="${20 + c * columnWidth}" y="${40 + i * size * 1.5}" font-family="DejaVu Sans" font-size="${size}">${text}</text>`;
    }
  }
  return out;
}

describe('type size (text-scale.ts)', () => {
  test('ink blobs are the 8-connected dark areas, with their exact bounding boxes', async () => {
    const img = await raster(
      60,
      40,
      '<rect x="5" y="5" width="10" height="4" fill="#000"/><rect x="30" y="10" width="3" height="20" fill="#000"/><rect x="33" y="30" width="3" height="3" fill="#000"/>',
    );
    const blobs = inkBlobs(img).sort((a, b) => a.x0 - b.x0);
    // The second and third rectangles touch only at a corner: one blob.
    assert.deepEqual(blobs, [
      { x0: 5, y0: 5, x1: 14, y1: 8 },
      { x0: 30, y0: 10, x1: 35, y1: 32 },
    ]);
  });

  test('the type height of a page of prose is its letters’ height, proportional to the type, whatever the page size', async () => {
    const small = typeHeight(await raster(1400, 900, prose(16, 24)));
    const large = typeHeight(await raster(2800, 1800, prose(32, 24)));
    // DejaVu Sans: x-height 0.55 em, ascenders 0.76 em; the median letter lies between.
    assert.ok(small >= 0.5 * 16 && small <= 0.8 * 16, `16 px type measured ${small}`);
    assert.ok(Math.abs(large / small - 2) <= 0.2, `32 px type measured ${large}, 16 px ${small}`);
  });

  test('rules, frames and pictures are not type; a blank page has none', async () => {
    const framed = await raster(
      1400,
      900,
      `${prose(16, 20)}<rect x="5" y="5" width="1390" height="890" fill="none" stroke="#000" stroke-width="3"/><rect x="900" y="500" width="300" height="300" fill="#333"/>`,
    );
    const h = typeHeight(framed);
    assert.ok(h >= 8 && h <= 13, `measured ${h}`);
    assert.equal(typeHeight(await raster(400, 300, '')), 0);
  });

  test('measured at half resolution, scan grain does not count as type', async () => {
    const page = await raster(1400, 900, prose(20, 20));
    const clean = typeHeight(await inkImage(page));
    // Grain as the benchmark's noisy page has it: each pixel ± up to 135 levels (a fixed LCG).
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const noisy = Buffer.from(page.data);
    for (let i = 0; i < noisy.length; i += 3) {
      const v = Math.max(0, Math.min(255, noisy[i] + Math.round((rand() + rand() + rand() - 1.5) * 90)));
      noisy.fill(v, i, i + 3);
    }
    const grainy = typeHeight(await inkImage({ ...page, data: noisy }));
    assert.ok(clean >= 4 && clean <= 8, `20 px type at half size measured ${clean}`);
    assert.ok(Math.abs(grainy - clean) <= 1, `with grain ${grainy}, clean ${clean}`);
  });

  const blob = (x: number, y: number, h: number): Blob => ({ x0: x, y0: y, x1: x + h - 1, y1: y + h - 1 });
  const box = (x0: number, y0: number, x1: number, y1: number): Array<[number, number]> => [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
  ];

  test('ink outside the first look’s boxes was missed; ink inside them was not', () => {
    const row = (y: number) => Array.from({ length: 10 }, (_, i) => blob(10 + i * 12, y, 10));
    const blobs = [...row(10), ...row(40)];
    assert.equal(missedInk(blobs, 10, [box(5, 5, 140, 24), box(5, 35, 140, 54)], 200, 100), 0);
    assert.equal(missedInk(blobs, 10, [box(5, 5, 140, 24)], 200, 100), 0.5);
    // Specks and pictures are not type-sized: they do not count either way.
    assert.equal(missedInk([...blobs, blob(150, 10, 2), blob(150, 40, 40)], 10, [box(5, 5, 140, 24), box(5, 35, 140, 54)], 200, 100), 0);
  });

  test('a box holding two lines of type-sized letters read them run together: missed; a heading’s tall box is not', () => {
    const row = (y: number) => Array.from({ length: 10 }, (_, i) => blob(10 + i * 12, y, 10));
    const singles = [box(5, 45, 140, 64), box(5, 65, 140, 84), box(5, 85, 140, 104)];
    const read = [...row(50), ...row(70), ...row(90)];
    assert.equal(missedInk([...row(10), ...row(24), ...read], 10, [box(5, 5, 140, 40), ...singles], 200, 120), 0.4);
    const heading = Array.from({ length: 6 }, (_, i) => blob(10 + i * 36, 10, 30));
    const body = Array.from({ length: 20 }, (_, i) => blob(10 + i * 12, 60, 10));
    assert.equal(missedInk([...heading, ...body], 10, [box(5, 5, 250, 45), box(5, 55, 250, 75), box(5, 80, 250, 99)], 300, 100), 0);
  });

  test('the detector’s scale rises to reach DETECT_TYPE only where the first look missed text, at most 2×', () => {
    const base = 960 / 2800;
    assert.equal(detectionScale(12, MISSED_INK, base), base, 'first look read it: kept');
    assert.equal(detectionScale(12, 0.8, base), DETECT_TYPE / 12);
    assert.equal(detectionScale(2, 0.8, base), 2, 'tiny type: enlarged at most 2×');
    assert.equal(detectionScale(DETECT_TYPE / (1.1 * base), 0.8, base), base, 'under 1.15× the base: not worth a second detection');
    assert.equal(detectionScale(0, 0.8, base), base, 'no type measured: kept');
  });
});

describe('detection in bands (tiles.ts)', () => {
  test('bands cover the image, each within the pixel budget, overlapping by the requested rows', () => {
    const width = 2816;
    const height = 1728;
    const bs = bands(width, height, 1_500_000, 96);
    assert.ok(bs.length >= 3, `${bs.length} bands`);
    assert.equal(bs[0].top, 0);
    assert.equal(bs.at(-1)!.bottom, height);
    for (const [i, b] of bs.entries()) {
      assert.ok((b.bottom - b.top) * width <= 1_500_000 + 32 * width, `band ${i} is ${b.bottom - b.top} rows`);
      assert.equal(b.top % 32, 0);
      assert.equal((b.bottom - b.top) % 32, 0);
      if (i > 0) assert.ok(bs[i - 1].bottom - b.top >= 96, `overlap ${bs[i - 1].bottom - b.top}`);
      // What each band keeps lies inside it with half an overlap to spare, and the kept ranges tile the image.
      assert.equal(b.keepTop, i === 0 ? 0 : bs[i - 1].keepBottom);
      if (i > 0) assert.ok(b.keepTop - b.top >= 48);
      if (i < bs.length - 1) assert.ok(b.bottom - b.keepBottom >= 48);
    }
    assert.equal(bs.at(-1)!.keepBottom, height);
    assert.deepEqual(bands(960, 1248, 1_500_000, 96), [{ top: 0, bottom: 1248, keepTop: 0, keepBottom: 1248 }]);
  });

  test('a band is a view of the image’s rows, not a copy', () => {
    const img = { data: Buffer.alloc(64 * 100 * 3), width: 64, height: 100 };
    const b = bandImage(img, { top: 32, bottom: 96, keepTop: 48, keepBottom: 80 });
    assert.equal(b.height, 64);
    assert.equal(b.data.buffer, img.data.buffer);
    assert.equal(b.data.byteOffset - img.data.byteOffset, 32 * 64 * 3);
  });

  test('a line in the overlap of two bands is kept once, from the band keeping its centre', () => {
    const [a, b] = bands(1000, 1600, 1_000_000, 128);
    const line = (y0: number, y1: number): Quad => [
      [10, y0],
      [900, y0],
      [900, y1],
      [10, y1],
    ];
    // A line across the seam between the two keep ranges, seen whole by both bands.
    const seam = a.keepBottom;
    const merged = mergeBands([
      { band: a, quads: [line(100 - a.top, 120 - a.top), line(seam - 14 - a.top, seam + 6 - a.top)] },
      { band: b, quads: [line(seam - 14 - b.top, seam + 6 - b.top), line(1500 - b.top, 1520 - b.top)] },
    ]);
    assert.deepEqual(
      merged.map((q) => q[0][1]),
      [100, seam - 14, 1500],
    );
  });
});

describe('levelling a skewed scan (deskew.ts)', () => {
  test('a point of the levelled image maps back onto the same ink of the page as it came', async () => {
    const page = await raster(600, 400, '<rect x="400" y="100" width="6" height="6" fill="#000"/>');
    const angle = (1.5 * Math.PI) / 180;
    const level = await levelled(page, angle);
    const [dot] = inkBlobs(level.page).filter((b) => b.x1 - b.x0 < 12);
    const [x, y] = level.toPage([(dot.x0 + dot.x1 + 1) / 2, (dot.y0 + dot.y1 + 1) / 2]);
    assert.ok(Math.hypot(x - 403, y - 103) < 1.5, `maps to ${x.toFixed(1)}, ${y.toFixed(1)}`);
  });

  describe('with the detector', () => {
    let paddle: Paddle;
    before(async () => {
      paddle = await loadPaddle({ threads: 1 });
    });
    after(() => paddle.release());

    const skewOf = async (img: Decoded) => {
      const det = await scaled(img, 960, 32);
      const quads = await paddle.detect(det);
      return skewAngle(quads.map((q) => q.map(([x, y]) => [x * img.width, y * img.height] as Point)));
    };

    test('the first look’s boxes give a scan’s skew to a tenth of a degree; a level page has none', async () => {
      const body = prose(18, 30, 2, 560);
      const turned = await raster(1200, 1000, body, 1);
      const skew = (await skewOf(turned)) * (180 / Math.PI);
      assert.ok(Math.abs(skew - 1) <= 0.1, `measured ${skew.toFixed(3)}°`);
      assert.ok(Math.abs(await skewOf(await raster(1200, 1000, body))) < MIN_SKEW);
      // Levelled, its lines are level again.
      const level = await levelled(turned, (skew * Math.PI) / 180);
      assert.ok(Math.abs(await skewOf(level.page)) < MIN_SKEW);
    });
  });
});
