import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { detectMediaType, isSupportedMediaType, MEDIA_EXTENSIONS, MEDIA_SNIFF_BYTES } from '../shared/document/index.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const head = (buf: Buffer) => buf.subarray(0, MEDIA_SNIFF_BYTES);

test('fixtures are recognised from their bytes', () => {
  assert.equal(detectMediaType(head(fixture('doc10.pdf'))), 'application/pdf');
  assert.equal(detectMediaType(head(fixture('cjk_nonembedded.pdf'))), 'application/pdf');
  assert.equal(detectMediaType(head(fixture('english.png'))), 'image/png');
  assert.equal(detectMediaType(head(fixture('english_exif6.jpg'))), 'image/jpeg');
  assert.equal(detectMediaType(head(fixture('multipage_3frames.tif'))), 'image/tiff');
});

test('what sharp writes is recognised (webp, gif, tiff in both byte orders)', async () => {
  const img = sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } });
  assert.equal(detectMediaType(await img.clone().webp().toBuffer()), 'image/webp');
  assert.equal(detectMediaType(await img.clone().gif().toBuffer()), 'image/gif');
  assert.equal(detectMediaType(await img.clone().tiff().toBuffer()), 'image/tiff');
  assert.equal(detectMediaType(Buffer.from('MM\x00\x2a\x00\x00\x00\x08', 'latin1')), 'image/tiff');
  assert.equal(detectMediaType(Buffer.from('II\x2b\x00\x08\x00\x00\x00', 'latin1')), 'image/tiff', 'BigTIFF');
  assert.equal(detectMediaType(Buffer.from('GIF87a\x01\x00', 'latin1')), 'image/gif');
});

test('BMP needs a known DIB header size, not just "BM"', () => {
  const bmp = Buffer.alloc(54);
  bmp.write('BM', 0);
  bmp.writeUInt32LE(40, 14);
  assert.equal(detectMediaType(bmp), 'image/bmp');
  assert.equal(detectMediaType(Buffer.from('BMW X5 owner manual, chapter one............')), null);
});

test('a PDF header after up to 1024 bytes of junk is still a PDF, further on it is not', () => {
  const pdf = fixture('doc10.pdf');
  const junk = (n: number) => Buffer.alloc(n, 0x20);
  assert.equal(detectMediaType(head(Buffer.concat([junk(1024), pdf]))), 'application/pdf');
  assert.equal(detectMediaType(head(Buffer.concat([junk(1025), pdf]))), null);
  assert.equal(detectMediaType(Buffer.from('From: scanner@example.com\r\n\r\n%PDF-1.7\n')), 'application/pdf');
});

test('an image that contains "%PDF-" stays an image', () => {
  const png = Buffer.concat([fixture('english.png').subarray(0, 64), Buffer.from('%PDF-1.4')]);
  assert.equal(detectMediaType(png), 'image/png');
});

test('unknown, empty and too-short input gives null', () => {
  assert.equal(detectMediaType(Buffer.alloc(0)), null);
  assert.equal(detectMediaType(Buffer.from([0x89, 0x50])), null);
  assert.equal(detectMediaType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), null);
  assert.equal(detectMediaType(Buffer.from('RIFF\x00\x00\x00\x00WAVEfmt ', 'latin1')), null);
  assert.equal(detectMediaType(Buffer.from('PK\x03\x04', 'latin1')), null);
  assert.equal(detectMediaType(Buffer.from('%PDF')), null);
});

test('every detectable type has an extension', () => {
  for (const t of ['application/pdf', 'image/png', 'image/jpeg', 'image/webp', 'image/tiff', 'image/gif', 'image/bmp']) {
    assert.ok(isSupportedMediaType(t), t);
    assert.match(MEDIA_EXTENSIONS[t], /^[a-z]+$/);
  }
  assert.equal(isSupportedMediaType('image/svg+xml'), false);
  assert.equal(isSupportedMediaType('toString'), false, 'prototype keys are not media types');
});
