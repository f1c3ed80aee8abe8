/**
 * Image uploads → normalised page PNGs: upright (EXIF), opaque on white, 8-bit sRGB, long side
 * capped. Engines then never see alpha, CMYK, 16-bit or sideways phone photos.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import { FolioError, isFolioError } from '../../shared/operations/errors.ts';
import { decodeBmp } from '../../shared/render/bmp.ts';
import type { ImageInput } from '../../shared/render/source-probe.ts';
import { PNG_OPTIONS, type RenderedPage } from './types.ts';

export interface ImageRenderOptions {
  maxLongSide: number;
  maxInputPixels: number;
  skip?: (page: number) => boolean;
  /** Told before each page is decoded (see PdfRenderOptions.onStart). */
  onStart?: (page: number) => void | Promise<void>;
}

/** Renders `pages` (1-based; frames of a multi-page TIFF, else just page 1). */
export async function* renderImagePages(input: ImageInput, mediaType: string, pages: number[], opts: ImageRenderOptions): AsyncGenerator<RenderedPage> {
  for (const page of pages) {
    if (opts.skip?.(page)) continue;
    await opts.onStart?.(page);
    const { data, info } = await normalise(input, mediaType, page, opts);
    yield { page, count: pages.length, png: data, width: info.width, height: info.height };
  }
}

async function normalise(input: ImageInput, mediaType: string, page: number, opts: ImageRenderOptions) {
  try {
    const image = await open(input, mediaType, page, opts.maxInputPixels);
    return await image
      .rotate() // EXIF orientation; a no-op without the tag
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .resize({ width: opts.maxLongSide, height: opts.maxLongSide, fit: 'inside', withoutEnlargement: true })
      .png(PNG_OPTIONS)
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    if (isFolioError(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    // Sizes were checked from the header already, so a pixel-limit error means the header lied.
    const code = /pixel limit/i.test(message) ? 'FOLIO_IMAGE_TOO_LARGE' : 'FOLIO_IMAGE_CORRUPT';
    throw new FolioError(code, `Page ${page}: ${message}`, { page }, { cause: err });
  }
}

async function open(input: ImageInput, mediaType: string, page: number, maxInputPixels: number): Promise<Sharp> {
  if (mediaType === 'image/bmp') {
    const bmp = decodeBmp(Buffer.isBuffer(input) ? input : await readFile(input), maxInputPixels);
    return sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: 3 } });
  }
  // `page` picks a TIFF frame; for GIF/WebP page 0 is the first frame, which is all we read.
  if (page > 1 && mediaType !== 'image/tiff') throw new FolioError('FOLIO_PAGE_RANGE_EMPTY', undefined, { page });
  // failOn 'error', not sharp's 'warning': scanner JPEGs often carry harmless libjpeg warnings
  // ("extraneous bytes before marker") and must not be rejected as corrupt for it.
  return sharp(input, { page: page - 1, limitInputPixels: maxInputPixels, failOn: 'error' });
}
