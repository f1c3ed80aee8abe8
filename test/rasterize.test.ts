import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { isFailedRender, renderPages, type RenderedPage, type RenderOptions, type RenderSource } from '../services/rasterizer/rasterize.ts';
import { createRenderers } from '../services/rasterizer/renderers.ts';
import { bmpFromRgb } from './helpers/synthetic-files.ts';
import { hostilePdf } from './helpers/hostile-pdf.ts';
import { refuses } from './helpers/refuses.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const PDF = 'application/pdf';
const base: RenderOptions = { dpi: 144, maxLongSide: 3000, maxInputPixels: 100e6, maxPages: 100, openTimeoutMs: 60_000, pageTimeoutMs: 60_000 };
// Every render below runs in a renderer process, as in the service.
const renderers = createRenderers({ size: 1, memoryMb: 2048 });
after(() => renderers.close());
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function collect(source: RenderSource, mediaType: string, opts: Partial<RenderOptions> = {}): Promise<RenderedPage[]> {
  const out: RenderedPage[] = [];
  for await (const page of renderPages(renderers, source, mediaType, { ...base, ...opts })) {
    if (isFailedRender(page)) throw page.error;
    out.push(page);
  }
  return out;
}

/** Greyscale pixels of a PNG, optionally shrunk, to compare images without trusting metadata. */
async function grey(png: Buffer, width?: number, height?: number) {
  let img = sharp(png).greyscale();
  if (width && height) img = img.resize(width, height, { fit: 'fill' });
  return img.raw().toBuffer({ resolveWithObject: true });
}
const darkPixels = (data: Buffer) => data.reduce((n, v) => n + (v < 128 ? 1 : 0), 0);
const meanAbsDiff = (a: Buffer, b: Buffer) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

test('doc10: 10 pages in order at 144 DPI, real PNGs, text layer in pixel space', async () => {
  const pages = await collect({ path: fixture('doc10.pdf') }, PDF);
  assert.deepEqual(
    pages.map((p) => p.page),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  for (const p of pages) {
    assert.equal(p.count, 10);
    // A4 = 595.3×841.9 pt → ×2 at 144 DPI.
    assert.equal(p.width, 1191);
    assert.equal(p.height, 1684);
    assert.deepEqual(p.png.subarray(0, 8), PNG_SIGNATURE);
    const meta = await sharp(p.png).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels, meta.hasAlpha], [1191, 1684, 3, false]);
    assert.ok(p.text, `page ${p.page} has a text layer`);
    assert.equal(p.text.page, p.page);
    assert.equal(p.text.missingFonts, false);
    assert.deepEqual([p.text.width, p.text.height], [p.width, p.height]);
    for (const item of p.text.items) {
      const [x1, y1, x2, y2] = item.bbox;
      assert.ok(x1 >= 0 && y1 >= 0 && x2 <= p.width && y2 <= p.height && x1 <= x2 && y1 <= y2, JSON.stringify(item));
    }
  }
  // The heading is 20 pt → 40 px, near the top-left margin (56.8 pt → ~114 px).
  const heading = pages[0].text!.items[0];
  assert.match(heading.text, /^Section 1: Inventory Summary/);
  assert.equal(heading.fontSize, 40);
  assert.ok(Math.abs(heading.bbox[0] - 113.6) < 1 && heading.bbox[1] > 100 && heading.bbox[3] < 200, JSON.stringify(heading.bbox));
});

test('the text-layer boxes sit on the ink of the rendered page', async () => {
  const [page] = await collect({ path: fixture('doc10.pdf') }, PDF, { pages: '1' });
  const { data, info } = await grey(page.png);
  const ink = (x1: number, y1: number, x2: number, y2: number) => {
    let n = 0;
    for (let y = Math.floor(y1); y < Math.ceil(y2); y++) for (let x = Math.floor(x1); x < Math.ceil(x2); x++) n += data[y * info.width + x] < 128 ? 1 : 0;
    return n / ((x2 - x1) * (y2 - y1));
  };
  const [x1, y1, x2, y2] = page.text!.items[0].bbox;
  assert.ok(ink(x1, y1, x2, y2) > 0.1, 'heading box holds ink');
  assert.ok(ink(x1, y2 + 60, x2, y2 + 100) < ink(x1, y1, x2, y2), 'below is not darker');
});

test('page range "2-3,9" gives pages 2, 3, 9 with count 3', async () => {
  const pages = await collect({ path: fixture('doc10.pdf') }, PDF, { pages: '2-3,9' });
  assert.deepEqual(
    pages.map((p) => [p.page, p.count]),
    [
      [2, 3],
      [3, 3],
      [9, 3],
    ],
  );
  assert.match(pages[2].text!.items.map((i) => i.text).join(' '), /Section 9/);
});

test('a range that selects nothing → FOLIO_PAGE_RANGE_EMPTY; too many pages → FOLIO_TOO_MANY_PAGES', async () => {
  const err = await refuses(collect({ path: fixture('doc10.pdf') }, PDF, { pages: '11-20' }), 'FOLIO_PAGE_RANGE_EMPTY');
  assert.deepEqual(err.details, { pages: '11-20', pageCount: 10 });
  await refuses(collect({ path: fixture('doc10.pdf') }, PDF, { maxPages: 9 }), 'FOLIO_TOO_MANY_PAGES');
  await refuses(collect({ path: fixture('english.png') }, 'image/png', { pages: '2-' }), 'FOLIO_PAGE_RANGE_EMPTY');
});

test('non-embedded Helvetica renders real glyphs (standard font data found)', async () => {
  const [page] = await collect({ path: fixture('helvetica_nonembedded.pdf') }, PDF);
  const { data } = await grey(page.png);
  // "Standard Font Helvetica Test 12345" at 28 pt; boxes or nothing would give ~0 or far more.
  const dark = darkPixels(data);
  assert.ok(dark > 3000 && dark < 60_000, `dark pixels: ${dark}`);
  assert.equal(page.text?.missingFonts, false);
  assert.equal(page.text?.items[0].text, 'Standard Font Helvetica Test 12345');
});

test('non-embedded CJK font: Chinese text layer with missingFonts = true', async () => {
  const [page] = await collect({ path: fixture('cjk_nonembedded.pdf') }, PDF);
  assert.ok(page.text);
  assert.equal(page.text.missingFonts, true);
  const text = page.text.items.map((i) => i.text).join('');
  assert.match(text, /[\u4e00-\u9fff]/);
  assert.ok(text.includes('增值税发票'), text);
});

test('scanned PDF: 10 image pages, no text layer', async () => {
  const pages = await collect({ path: fixture('scan10.pdf') }, PDF);
  assert.deepEqual(
    pages.map((p) => p.page),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  for (const p of pages) {
    assert.equal(p.text, undefined);
    assert.ok(p.width > 1000 && p.height > 1400, `${p.width}×${p.height}`);
  }
  assert.ok(darkPixels((await grey(pages[0].png)).data) > 5000, 'the scan is drawn');
});

test('maxLongSide caps PDF pages and images, never upscales', async () => {
  const [pdfPage] = await collect({ path: fixture('doc10.pdf') }, PDF, { pages: '1', maxLongSide: 800 });
  assert.equal(pdfPage.height, 800);
  assert.equal(pdfPage.width, 566);
  assert.ok(pdfPage.text!.items.every((i) => i.bbox[2] <= 566 && i.bbox[3] <= 800));
  assert.equal(pdfPage.text!.items[0].fontSize, 19); // 20 pt × 800/841.9

  const [small] = await collect({ path: fixture('english.png') }, 'image/png', { maxLongSide: 500 });
  assert.deepEqual([small.width, small.height], [354, 500]);
  const [same] = await collect({ path: fixture('english.png') }, 'image/png', { maxLongSide: 5000 });
  assert.deepEqual([same.width, same.height], [1241, 1754]);
  const meta = await sharp(same.png).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [1241, 1754, 3]);
});

test('dpi sets the PDF scale', async () => {
  const [page] = await collect({ path: fixture('doc10.pdf') }, PDF, { pages: '1', dpi: 72 });
  assert.deepEqual([page.width, page.height], [595, 842]);
});

test('EXIF orientation 6: comes out upright, same size and content as english.png', async () => {
  const [upright] = await collect({ path: fixture('english.png') }, 'image/png');
  const [rotated] = await collect({ path: fixture('english_exif6.jpg') }, 'image/jpeg');
  assert.deepEqual([rotated.width, rotated.height], [upright.width, upright.height]);
  const a = await grey(upright.png, 100, 140);
  const b = await grey(rotated.png, 100, 140);
  const wrongWay = await grey(await sharp(rotated.png).rotate(180).png().toBuffer(), 100, 140);
  const diff = meanAbsDiff(a.data, b.data);
  assert.ok(diff < 5, `upright diff ${diff}`);
  assert.ok(meanAbsDiff(a.data, wrongWay.data) > diff * 3, 'the comparison can tell orientations apart');
});

test('skip: skipped pages are neither rendered nor yielded, count still covers them', async () => {
  const asked: number[] = [];
  const pages = await collect({ path: fixture('doc10.pdf') }, PDF, {
    skip: (p) => {
      asked.push(p);
      return p <= 7;
    },
  });
  assert.deepEqual(
    pages.map((p) => [p.page, p.count]),
    [
      [8, 10],
      [9, 10],
      [10, 10],
    ],
  );
  assert.deepEqual(asked, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // Skipping all but one scanned page must cost about one page, not ten.
  const t0 = performance.now();
  await collect({ path: fixture('scan10.pdf') }, PDF, { pages: '1' });
  const one = performance.now() - t0;
  const t1 = performance.now();
  await collect({ path: fixture('scan10.pdf') }, PDF, { skip: (p) => p !== 1 });
  assert.ok(performance.now() - t1 < one * 3 + 200, 'skipped pages were rendered');
});

test('pages stream out: the first arrives long before the document is done', async () => {
  const t0 = performance.now();
  let first = 0;
  for await (const page of renderPages(renderers, { path: fixture('scan10.pdf') }, PDF, base)) {
    if (page.page === 1) first = performance.now() - t0;
  }
  const total = performance.now() - t0;
  assert.ok(first < total / 2, `first page after ${first.toFixed(0)} of ${total.toFixed(0)} ms`);
});

test('stopping early releases the document and later renders still work', async () => {
  const gen = renderPages(renderers, { path: fixture('doc10.pdf') }, PDF, base);
  const first = await gen.next();
  assert.equal(first.done, false);
  assert.equal((await gen.return(undefined)).done, true);
  for await (const page of renderPages(renderers, { path: fixture('doc10.pdf') }, PDF, { ...base, pages: '4-' })) {
    assert.equal(page.page, 4);
    break;
  }
  assert.equal((await collect({ path: fixture('doc10.pdf') }, PDF, { pages: '10' }))[0].page, 10);
});

test('data sources work and the caller keeps its buffer (pdf.js detaches what it is given)', async () => {
  const data = readFileSync(fixture('doc10.pdf'));
  const pages = await collect({ data }, PDF, { pages: '1-2' });
  assert.deepEqual(
    pages.map((p) => p.page),
    [1, 2],
  );
  assert.equal(data.length, 53241);
  const [img] = await collect({ data: readFileSync(fixture('chinese.png')) }, 'image/png');
  assert.deepEqual([img.width, img.height], [1241, 1754]);
});

test('bad sources fail with their FolioError codes', async () => {
  await refuses(collect({ path: fixture('encrypted.pdf') }, PDF), 'FOLIO_PDF_ENCRYPTED');
  await refuses(collect({ path: fixture('truncated.pdf') }, PDF), 'FOLIO_PDF_CORRUPT');
  await refuses(collect({ path: fixture('pixel_bomb_12000x12000.png') }, 'image/png'), 'FOLIO_IMAGE_TOO_LARGE');
  const truncatedJpeg = readFileSync(fixture('english_scan.jpg')).subarray(0, 2000);
  await refuses(collect({ data: truncatedJpeg }, 'image/jpeg'), 'FOLIO_IMAGE_CORRUPT');
  await refuses(collect({ path: fixture('english.png') }, 'image/svg+xml'), 'FOLIO_UNSUPPORTED_MEDIA_TYPE');
});

test('a page pdf.js cannot draw fails alone, named, and the pages around it still come out', async () => {
  // Page 3's entry in the page tree points at an object that does not exist.
  const pdf = hostilePdf([{ kind: 'text', text: 'one' }, { kind: 'text', text: 'two' }, { kind: 'missing-page' }, { kind: 'text', text: 'four' }]);
  const got: string[] = [];
  for await (const page of renderPages(renderers, { data: pdf }, PDF, { ...base, dpi: 72 })) {
    got.push(isFailedRender(page) ? `${page.page}:${page.error.code}` : `${page.page}`);
    if (isFailedRender(page)) assert.equal(page.error.details?.page, page.page);
  }
  assert.ok(got.includes('3:FOLIO_RENDER_FAILED'), got.join(' '));
  assert.deepEqual(got.slice(0, 2), ['1', '2']);
  assert.deepEqual(
    got.map((g) => Number.parseInt(g)),
    [...got.keys()].map((i) => i + 1),
    'every page once, in order',
  );
});

test('multi-page TIFF: one page per frame, each at its own size', async () => {
  const pages = await collect({ path: fixture('multipage_3frames.tif') }, 'image/tiff');
  assert.deepEqual(
    pages.map((p) => [p.page, p.count, p.width, p.height]),
    [
      [1, 3, 400, 300],
      [2, 3, 300, 500],
      [3, 3, 600, 200],
    ],
  );
  const levels = await Promise.all(pages.map(async (p) => (await grey(p.png)).data[0]));
  assert.deepEqual(levels, [64, 128, 192]);
  const [second] = await collect({ path: fixture('multipage_3frames.tif') }, 'image/tiff', { pages: '2' });
  assert.deepEqual([second.page, second.count, second.width], [2, 1, 300]);
});

test('transparent images are flattened onto white, not black', async () => {
  const clear = await sharp({ create: { width: 20, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .png()
    .toBuffer();
  const [page] = await collect({ data: clear }, 'image/png');
  const { data, info } = await sharp(page.png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  assert.ok(data.every((v) => v === 255));
});

test('BMP (24-bit bottom-up and 8-bit top-down) is decoded pixel-exact', async () => {
  const width = 7; // odd width exercises row padding
  const height = 5;
  const rgb = Buffer.alloc(width * height * 3, 255);
  const red = (x: number, y: number) => rgb.set([200, 10, 10], (y * width + x) * 3);
  red(0, 0); // top-left marks the row order
  red(6, 4);
  for (const bpp of [24, 8] as const) {
    const [page] = await collect({ data: bmpFromRgb(rgb, width, height, bpp) }, 'image/bmp');
    const { data } = await sharp(page.png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([page.width, page.height], [width, height]);
    assert.deepEqual(data, rgb, `bpp ${bpp}`);
  }
  const truncated = bmpFromRgb(rgb, width, height).subarray(0, 60);
  await refuses(collect({ data: truncated }, 'image/bmp'), 'FOLIO_IMAGE_CORRUPT');
});
