/**
 * Uncompressed BMP reader. sharp (libvips without ImageMagick) cannot read BMP, and
 * @napi-rs/canvas's decoder segfaults the whole process on malformed images, so untrusted
 * BMPs are parsed here in plain, bounds-checked TypeScript and handed to sharp as raw RGB.
 * RLE and embedded JPEG/PNG variants are refused: rare in scans, and each is its own parser.
 */
import { FolioError } from '../operations/errors.ts';

export interface BmpHeader {
  width: number;
  height: number;
  bitsPerPixel: number;
  topDown: boolean;
  compression: number;
  pixelOffset: number;
  dibSize: number;
  colorsUsed: number;
}

/** Enough bytes for any DIB header we accept plus its bit-field masks. */
export const BMP_HEADER_BYTES = 14 + 124 + 16;

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

const corrupt = (why: string) => new FolioError('FOLIO_IMAGE_CORRUPT', `The BMP cannot be decoded: ${why}`);

export function readBmpHeader(buf: Buffer): BmpHeader {
  if (buf.length < 26 || buf.toString('latin1', 0, 2) !== 'BM') throw corrupt('not a BMP');
  const pixelOffset = buf.readUInt32LE(10);
  const dibSize = buf.readUInt32LE(14);
  if (dibSize === 12) {
    // OS/2 BITMAPCOREHEADER: 16-bit sizes, always bottom-up, never compressed.
    return {
      width: buf.readUInt16LE(18),
      height: buf.readUInt16LE(20),
      bitsPerPixel: buf.readUInt16LE(24),
      topDown: false,
      compression: BI_RGB,
      pixelOffset,
      dibSize,
      colorsUsed: 0,
    };
  }
  if (dibSize < 40 || buf.length < 14 + 40) throw corrupt(`unknown header size ${dibSize}`);
  const rawHeight = buf.readInt32LE(22);
  return {
    width: buf.readInt32LE(18),
    height: Math.abs(rawHeight),
    bitsPerPixel: buf.readUInt16LE(28),
    topDown: rawHeight < 0,
    compression: buf.readUInt32LE(30),
    pixelOffset,
    dibSize,
    colorsUsed: buf.readUInt32LE(46),
  };
}

/** Why we cannot decode this BMP variant (checked from the header at upload time), or null. */
export function unsupportedBmp(h: BmpHeader): string | null {
  const bitfields = h.compression === BI_BITFIELDS || h.compression === BI_ALPHABITFIELDS;
  if (h.compression !== BI_RGB && !bitfields) return `BMP compression ${h.compression} (RLE/JPEG/PNG) is not supported`;
  if (![1, 4, 8, 16, 24, 32].includes(h.bitsPerPixel)) return `BMP with ${h.bitsPerPixel} bits per pixel is not supported`;
  return null;
}

/** Decodes to packed RGB (alpha is dropped: BMP alpha is often garbage zeros, and OCR wants opaque). */
export function decodeBmp(buf: Buffer, maxPixels: number): { data: Buffer; width: number; height: number } {
  const h = readBmpHeader(buf);
  const { width, height, bitsPerPixel: bpp } = h;
  if (width <= 0 || height <= 0) throw corrupt(`bad size ${width}×${height}`);
  if (width * height > maxPixels) {
    throw new FolioError('FOLIO_IMAGE_TOO_LARGE', undefined, { width, height, maxInputPixels: maxPixels });
  }
  const unsupported = unsupportedBmp(h);
  if (unsupported) throw new FolioError('FOLIO_UNSUPPORTED_MEDIA_TYPE', unsupported);
  const bitfields = h.compression !== BI_RGB;

  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  if (h.pixelOffset + rowBytes * height > buf.length) throw corrupt('pixel data is truncated');

  // Palette: BGR(X) entries right after the header (and after the masks of a 40-byte header).
  let palette: Buffer | null = null;
  const entry = h.dibSize === 12 ? 3 : 4;
  if (bpp <= 8) {
    const count = h.colorsUsed || 1 << bpp;
    const start = 14 + h.dibSize;
    if (count > 256 || start + count * entry > h.pixelOffset) throw corrupt('bad palette');
    palette = Buffer.alloc(256 * 3); // unused indices stay black instead of reading out of bounds
    for (let i = 0; i < count; i++) {
      palette[i * 3] = buf[start + i * entry + 2];
      palette[i * 3 + 1] = buf[start + i * entry + 1];
      palette[i * 3 + 2] = buf[start + i * entry];
    }
  }
  const masks = bpp === 16 || bpp === 32 ? readMasks(buf, h, bitfields) : null;

  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = h.pixelOffset + (h.topDown ? y : height - 1 - y) * rowBytes;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      if (palette) {
        const bit = x * bpp;
        const idx = (buf[row + (bit >> 3)] >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        palette.copy(out, o, idx * 3, idx * 3 + 3);
      } else if (bpp === 24) {
        const p = row + x * 3;
        out[o] = buf[p + 2];
        out[o + 1] = buf[p + 1];
        out[o + 2] = buf[p];
      } else {
        const v = bpp === 16 ? buf.readUInt16LE(row + x * 2) : buf.readUInt32LE(row + x * 4);
        out[o] = masks![0](v);
        out[o + 1] = masks![1](v);
        out[o + 2] = masks![2](v);
      }
    }
  }
  return { data: out, width, height };
}

type Channel = (v: number) => number;

function readMasks(buf: Buffer, h: BmpHeader, bitfields: boolean): [Channel, Channel, Channel] {
  let m: [number, number, number];
  if (!bitfields) m = h.bitsPerPixel === 16 ? [0x7c00, 0x03e0, 0x001f] : [0xff0000, 0x00ff00, 0x0000ff];
  else {
    if (buf.length < 54 + 12) throw corrupt('bit-field masks are missing');
    m = [buf.readUInt32LE(54), buf.readUInt32LE(58), buf.readUInt32LE(62)];
  }
  return m.map(channel) as [Channel, Channel, Channel];
}

/** Extracts a masked channel and scales it to 0–255, whatever its bit width. */
function channel(mask: number): Channel {
  if (mask === 0) return () => 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  return (v) => Math.round((((v & mask) >>> shift) * 255) / max);
}
