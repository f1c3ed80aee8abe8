/**
 * Cheap checks on an uploaded source, run by ingest before it answers 202, so that a job that can
 * never succeed (encrypted, corrupt, too many pages, pixel bomb) is refused up front instead of
 * failing later in the pipeline. No PDF page is rendered; an image is decoded once at thumbnail
 * size (JPEG shrinks on load) so a truncated or garbled file is refused here too.
 */
import { open } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { FolioError } from '../operations/errors.ts';
import { BMP_HEADER_BYTES, readBmpHeader, unsupportedBmp } from './bmp.ts';
import { isPdf, isSupportedMediaType } from '../document/media-type.ts';
import { openPdf, type PdfSource } from './pdfjs.ts';

export interface SourceLimits {
  maxPages: number;
  maxInputPixels: number;
}

export interface PageSize {
  width: number;
  height: number;
}

export interface SourceProbe {
  pageCount: number;
  /** Pixel sizes of image pages; absent for PDFs (their pixel size depends on the DPI asked for). */
  pages?: PageSize[];
}

/** What sharp's metadata().format must say for each image media type we accept. */
const SHARP_FORMAT: Readonly<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/webp': 'webp',
  'image/tiff': 'tiff',
  'image/gif': 'gif',
};

export type ImageInput = string | Buffer;

export async function probeSource(path: string, mediaType: string, limits: SourceLimits): Promise<SourceProbe> {
  if (!isSupportedMediaType(mediaType)) throw new FolioError('FOLIO_UNSUPPORTED_MEDIA_TYPE', undefined, { mediaType });
  if (isPdf(mediaType)) return { pageCount: await countPdfPages({ path }, limits.maxPages) };
  const pages = await imagePageSizes(path, mediaType, limits);
  if (mediaType !== 'image/bmp') await decodeCheck(path, limits.maxInputPixels);
  return { pageCount: pages.length, pages };
}

/** Headers can be intact while the pixel data is cut off: decode small to find out, cheaply. */
async function decodeCheck(path: string, maxInputPixels: number): Promise<void> {
  try {
    await sharp(path, { failOn: 'error', limitInputPixels: maxInputPixels }).resize(256, 256, { fit: 'inside' }).raw().toBuffer();
  } catch (err) {
    throw new FolioError('FOLIO_IMAGE_CORRUPT', 'The image data is truncated or cannot be decoded', undefined, { cause: err });
  }
}

/** Page count of a PDF, refusing more than maxPages. */
export async function countPdfPages(source: PdfSource, maxPages: number): Promise<number> {
  const doc = await openPdf(source);
  try {
    checkPageCount(doc.numPages, maxPages);
    return doc.numPages;
  } finally {
    await doc.destroy();
  }
}

export function checkPageCount(pageCount: number, maxPages: number): void {
  if (pageCount < 1) throw new FolioError('FOLIO_PDF_CORRUPT', 'The PDF has no pages');
  if (pageCount > maxPages) throw new FolioError('FOLIO_TOO_MANY_PAGES', undefined, { pageCount, maxPages });
}

/**
 * Pixel size of every page of an image (several only for multi-page TIFF; animated GIF/WebP
 * count as their first frame), read from headers only. Used by the rasterizer too, so that a
 * bomb is refused before sharp allocates anything.
 */
export async function imagePageSizes(input: ImageInput, mediaType: string, limits: SourceLimits): Promise<PageSize[]> {
  if (mediaType === 'image/bmp') {
    const header = readBmpHeader(await headBytes(input, BMP_HEADER_BYTES));
    const unsupported = unsupportedBmp(header);
    if (unsupported) throw new FolioError('FOLIO_UNSUPPORTED_MEDIA_TYPE', unsupported, { mediaType });
    const { width, height } = header;
    if (width <= 0 || height <= 0) throw new FolioError('FOLIO_IMAGE_CORRUPT', 'The BMP has no pixels');
    return [checkPixels({ width, height }, limits.maxInputPixels)];
  }
  const first = await imageMetadata(input, mediaType, 0);
  const pageCount = mediaType === 'image/tiff' ? (first.pages ?? 1) : 1;
  if (pageCount > limits.maxPages) throw new FolioError('FOLIO_TOO_MANY_PAGES', undefined, { pageCount, maxPages: limits.maxPages });
  const sizes = [checkPixels(first, limits.maxInputPixels)];
  // TIFF pages may differ in size (a letter page after a thumbnail): each one is checked.
  for (let page = 1; page < pageCount; page++) {
    sizes.push(checkPixels(await imageMetadata(input, mediaType, page), limits.maxInputPixels));
  }
  return sizes;
}

async function imageMetadata(input: ImageInput, mediaType: string, page: number): Promise<{ width: number; height: number; pages?: number }> {
  let meta: Metadata;
  try {
    // No pixel limit here: sharp's own error would hide the size, which the client wants to see.
    meta = await sharp(input, { page, limitInputPixels: false }).metadata();
  } catch (err) {
    throw new FolioError('FOLIO_IMAGE_CORRUPT', undefined, undefined, { cause: err });
  }
  // sharp sniffs formats itself: an SVG or HEIF hiding behind a PNG label must not be decoded.
  if (meta.format !== SHARP_FORMAT[mediaType]) {
    throw new FolioError('FOLIO_UNSUPPORTED_MEDIA_TYPE', undefined, { mediaType, decodedAs: meta.format });
  }
  if (!meta.width || !meta.height) throw new FolioError('FOLIO_IMAGE_CORRUPT', 'The image has no pixels');
  // Report the size as it will be rendered: EXIF-rotated (phone photos are stored sideways).
  const upright = meta.autoOrient ?? meta;
  return { width: upright.width, height: upright.height, pages: meta.pages };
}

function checkPixels(size: PageSize, maxInputPixels: number): PageSize {
  if (size.width * size.height > maxInputPixels) {
    throw new FolioError('FOLIO_IMAGE_TOO_LARGE', undefined, { width: size.width, height: size.height, maxInputPixels });
  }
  return { width: size.width, height: size.height };
}

async function headBytes(input: ImageInput, n: number): Promise<Buffer> {
  if (Buffer.isBuffer(input)) return input.subarray(0, n);
  const fh = await open(input, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
