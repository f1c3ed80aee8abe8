/**
 * A page PNG → a PDF image XObject. The rasterizer's PNGs (8-bit RGB or grey, not interlaced) go
 * in as they are: PDF's FlateDecode with the PNG predictors reads the PNG's own compressed rows,
 * so nothing is decoded or compressed again and the page is the pixels the engine read. Any other
 * PNG (alpha, 16-bit, interlaced, palette with transparency) is flattened on white by sharp first.
 */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

export interface PdfImage {
  width: number;
  height: number;
  /** Pixels per inch from the PNG's pHYs chunk, when it says so. */
  dpi?: number;
  /** The XObject dictionary's entries, without /Length. */
  dict: string;
  data: Buffer;
}

interface Png {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
  palette?: Buffer;
  transparency: boolean;
  idat: Buffer;
  dpi?: number;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The chunks that matter here; null when the bytes are not a PNG this reader understands. */
export function parsePng(buf: Buffer): Png | null {
  if (buf.length < 33 || !buf.subarray(0, 8).equals(SIGNATURE)) return null;
  let at = 8;
  const idat: Buffer[] = [];
  let png: Partial<Png> = { transparency: false };
  while (at + 8 <= buf.length) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + len);
    if (data.length !== len) return null;
    if (type === 'IHDR')
      png = { ...png, width: data.readUInt32BE(0), height: data.readUInt32BE(4), bitDepth: data[8], colorType: data[9], interlace: data[12] };
    else if (type === 'PLTE') png.palette = data;
    else if (type === 'tRNS') png.transparency = true;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'pHYs' && data[8] === 1) {
      // Pixels per metre cannot say 150 or 300 dpi exactly (5906 ppm is 150.01): whole numbers within 0.1 are meant.
      const dpi = data.readUInt32BE(0) * 0.0254;
      const whole = Math.round(dpi);
      if (dpi >= 10 && dpi <= 4800 && data.readUInt32BE(0) === data.readUInt32BE(4))
        png.dpi = Math.abs(dpi - whole) < 0.1 ? whole : Math.round(dpi * 100) / 100;
    } else if (type === 'IEND') break;
    at += 12 + len;
  }
  if (!png.width || !png.height || idat.length === 0) return null;
  return { ...(png as Png), idat: Buffer.concat(idat) };
}

export async function pdfImageFromPng(buf: Buffer): Promise<PdfImage> {
  const png = parsePng(buf);
  if (
    png &&
    png.bitDepth === 8 &&
    png.interlace === 0 &&
    !png.transparency &&
    (png.colorType === 0 || png.colorType === 2 || (png.colorType === 3 && png.palette))
  ) {
    const colors = png.colorType === 2 ? 3 : 1;
    const space =
      png.colorType === 2
        ? '/DeviceRGB'
        : png.colorType === 0
          ? '/DeviceGray'
          : `[/Indexed /DeviceRGB ${png.palette!.length / 3 - 1} <${png.palette!.toString('hex')}>]`;
    return {
      width: png.width,
      height: png.height,
      dpi: png.dpi,
      dict: `/Type /XObject /Subtype /Image /Width ${png.width} /Height ${png.height} /ColorSpace ${space} /BitsPerComponent 8 /Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors ${colors} /BitsPerComponent 8 /Columns ${png.width} >>`,
      data: png.idat,
    };
  }
  const { data, info } = await sharp(buf).flatten({ background: '#ffffff' }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    dpi: png?.dpi,
    dict: `/Type /XObject /Subtype /Image /Width ${info.width} /Height ${info.height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode`,
    data: deflateSync(data),
  };
}
