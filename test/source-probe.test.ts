import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createSourceProber } from '../shared/render/index.ts';
import type { SourceLimits } from '../shared/render/source-probe.ts';
import { blankPdf, bmpFromRgb } from './helpers/synthetic-files.ts';
import { bigPdf } from './helpers/hostile-pdf.ts';
import { refuses } from './helpers/refuses.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const limits = { maxPages: 100, maxInputPixels: 100e6 };
const PDF = 'application/pdf';

let dir: string;
const tmpFile = (name: string, data: Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};
// Every probe runs as ingest runs it: in a renderer process, with a deadline and a memory cap.
const prober = createSourceProber({ workers: 2, memoryMb: 2048, timeoutMs: 60_000 });
const probeSource = (path: string, mediaType: string, l: SourceLimits) => prober.probe(path, mediaType, l);
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'folio-probe-'));
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await prober.close();
});

test('PDF page counts', async () => {
  assert.deepEqual(await probeSource(fixture('doc10.pdf'), PDF, limits), { pageCount: 10 });
  assert.deepEqual(await probeSource(fixture('scan10.pdf'), PDF, limits), { pageCount: 10 });
});

test('more pages than allowed → FOLIO_TOO_MANY_PAGES with both numbers', async () => {
  const err = await refuses(probeSource(fixture('doc10.pdf'), PDF, { ...limits, maxPages: 5 }), 'FOLIO_TOO_MANY_PAGES');
  assert.deepEqual(err.details, { pageCount: 10, maxPages: 5 });
  assert.equal(err.status, 422);
});

test('a 5000-page PDF is counted without walking its pages', async () => {
  const path = tmpFile('5000.pdf', blankPdf(5000));
  const t0 = performance.now();
  assert.deepEqual(await probeSource(path, PDF, { ...limits, maxPages: 10_000 }), { pageCount: 5000 });
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
  await refuses(probeSource(path, PDF, limits), 'FOLIO_TOO_MANY_PAGES');
});

test('password-protected PDF → FOLIO_PDF_ENCRYPTED (pdf.js PasswordException), not CORRUPT', async () => {
  const err = await refuses(probeSource(fixture('encrypted.pdf'), PDF, limits), 'FOLIO_PDF_ENCRYPTED');
  assert.equal((err.cause as Error).name, 'PasswordException');
  assert.equal(err.retryable, false);
});

test('truncated or garbage PDF → FOLIO_PDF_CORRUPT', async () => {
  await refuses(probeSource(fixture('truncated.pdf'), PDF, limits), 'FOLIO_PDF_CORRUPT');
  await refuses(probeSource(tmpFile('garbage.pdf', Buffer.from('%PDF-1.7\n\x00\x01garbage garbage')), PDF, limits), 'FOLIO_PDF_CORRUPT');
  await refuses(probeSource(tmpFile('empty.pdf', Buffer.alloc(0)), PDF, limits), 'FOLIO_PDF_CORRUPT');
});

test('image sizes come from headers, EXIF-rotated to how the page will be rendered', async () => {
  assert.deepEqual(await probeSource(fixture('english.png'), 'image/png', limits), { pageCount: 1, pages: [{ width: 1241, height: 1754 }] });
  // Stored 1754×1241 with Orientation 6: the rendered page is portrait.
  assert.deepEqual(await probeSource(fixture('english_exif6.jpg'), 'image/jpeg', limits), { pageCount: 1, pages: [{ width: 1241, height: 1754 }] });
});

test('pixel bomb (12000×12000 PNG of 17 KB) → FOLIO_IMAGE_TOO_LARGE from the header, fast', async () => {
  const rss0 = process.memoryUsage.rss();
  const t0 = performance.now();
  const err = await refuses(probeSource(fixture('pixel_bomb_12000x12000.png'), 'image/png', limits), 'FOLIO_IMAGE_TOO_LARGE');
  assert.ok(performance.now() - t0 < 500, 'decoding pixels would take seconds');
  assert.ok(process.memoryUsage.rss() - rss0 < 100e6, 'decoding pixels would take 432 MB');
  assert.deepEqual(err.details, { width: 12000, height: 12000, maxInputPixels: 100e6 });
});

test('multi-page TIFF: one page per frame, each frame checked', async () => {
  const tif = fixture('multipage_3frames.tif');
  assert.deepEqual(await probeSource(tif, 'image/tiff', limits), {
    pageCount: 3,
    pages: [
      { width: 400, height: 300 },
      { width: 300, height: 500 },
      { width: 600, height: 200 },
    ],
  });
  await refuses(probeSource(tif, 'image/tiff', { ...limits, maxPages: 2 }), 'FOLIO_TOO_MANY_PAGES');
  // Frame 3 alone is 120k pixels.
  await refuses(probeSource(tif, 'image/tiff', { ...limits, maxInputPixels: 150_000 - 1 }), 'FOLIO_IMAGE_TOO_LARGE');
});

test('animated GIF counts as its first frame', async () => {
  const frame = (c: string) =>
    sharp({ create: { width: 40, height: 30, channels: 3, background: c } })
      .png()
      .toBuffer();
  const gif = await sharp([await frame('#000'), await frame('#fff')], { join: { animated: true } })
    .gif()
    .toBuffer();
  assert.equal((await sharp(gif).metadata()).pages, 2);
  assert.deepEqual(await probeSource(tmpFile('anim.gif', gif), 'image/gif', limits), { pageCount: 1, pages: [{ width: 40, height: 30 }] });
});

test('BMP sizes are read by our own header parser', async () => {
  const bmp = bmpFromRgb(Buffer.alloc(30 * 20 * 3, 255), 30, 20);
  assert.deepEqual(await probeSource(tmpFile('a.bmp', bmp), 'image/bmp', limits), { pageCount: 1, pages: [{ width: 30, height: 20 }] });
  const bomb = Buffer.from(bmp.subarray(0, 54));
  bomb.writeInt32LE(40_000, 18);
  bomb.writeInt32LE(40_000, 22);
  await refuses(probeSource(tmpFile('bomb.bmp', bomb), 'image/bmp', limits), 'FOLIO_IMAGE_TOO_LARGE');
  // RLE-compressed BMPs are refused at upload (415), not accepted and failed later.
  const rle = Buffer.from(bmp);
  rle.writeUInt16LE(8, 28);
  rle.writeUInt32LE(1, 30);
  await refuses(probeSource(tmpFile('rle.bmp', rle), 'image/bmp', limits), 'FOLIO_UNSUPPORTED_MEDIA_TYPE');
});

test('undecodable images → FOLIO_IMAGE_CORRUPT', async () => {
  await refuses(probeSource(tmpFile('junk.png', Buffer.from('\x89PNG\r\n\x1a\nnot really', 'latin1')), 'image/png', limits), 'FOLIO_IMAGE_CORRUPT');
  await refuses(probeSource(tmpFile('junk.jpg', Buffer.from('\xff\xd8\xff\xe0 nope', 'latin1')), 'image/jpeg', limits), 'FOLIO_IMAGE_CORRUPT');
});

test('a file whose decoder disagrees with its media type is refused, not decoded', async () => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
  await refuses(probeSource(tmpFile('x.png', svg), 'image/png', limits), 'FOLIO_UNSUPPORTED_MEDIA_TYPE');
  await refuses(probeSource(fixture('english.png'), 'text/plain', limits), 'FOLIO_UNSUPPORTED_MEDIA_TYPE');
});

test('the event loop keeps ticking while a 100 MB PDF is probed', async () => {
  const path = tmpFile('big.pdf', bigPdf(100));
  await probeSource(fixture('doc10.pdf'), PDF, limits); // renderer started: measure the probe, not the start-up
  let last = performance.now();
  let worstGap = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - last);
    last = now;
  }, 5);
  try {
    assert.deepEqual(await probeSource(path, PDF, limits), { pageCount: 21 });
  } finally {
    clearInterval(tick);
  }
  // pdf.js on this thread blocks for the whole parse (seconds on this file); a loaded machine
  // still ticks well within this.
  assert.ok(worstGap < 500, `longest event-loop gap ${worstGap.toFixed(0)} ms`);
});

test('a probe past its deadline fails with FOLIO_RENDER_TIMEOUT, and the next probe works', async () => {
  const slow = createSourceProber({ workers: 1, memoryMb: 2048, timeoutMs: 1 });
  try {
    await refuses(slow.probe(fixture('scan10.pdf'), PDF, limits), 'FOLIO_RENDER_TIMEOUT');
  } finally {
    await slow.close();
  }
  assert.deepEqual(await probeSource(fixture('scan10.pdf'), PDF, limits), { pageCount: 10 });
});
