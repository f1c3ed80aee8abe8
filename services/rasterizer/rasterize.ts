/**
 * Source file → page images, one at a time, as a pure module (no NATS, no env): the rasterizer
 * service feeds each yielded page to OCR as soon as it exists, and can resume a half-done
 * document with `skip`.
 */
import { FolioError } from '../../shared/errors.ts';
import { selectPages } from '../../shared/page-range.ts';
import { isPdf, isSupportedMediaType } from '../../shared/media-type.ts';
import { openPdf } from '../../shared/pdfjs.ts';
import { checkPageCount, imagePageSizes } from '../../shared/source-probe.ts';
import { renderImagePages } from './image-pages.ts';
import { renderPdfPages } from './pdf-pages.ts';
import type { RenderedPage } from './types.ts';

export type { RenderedPage } from './types.ts';

export type RenderSource = { path: string } | { data: Buffer };

export interface RenderOptions {
  /** Page range as users type it ("1-3,5,8-"); all pages when absent. */
  pages?: string;
  /** PDF render resolution; images keep their own pixels. */
  dpi: number;
  /** Longest side of any output image, in pixels (never upscaled past the source's own). */
  maxLongSide: number;
  maxInputPixels: number;
  maxPages: number;
  /** Pages already done (e.g. before a restart): neither rendered nor yielded, still counted. */
  skip?: (page: number) => boolean;
}

/**
 * Yields the selected pages in ascending order. Errors are FolioErrors: FOLIO_PAGE_RANGE_EMPTY,
 * FOLIO_TOO_MANY_PAGES, FOLIO_PDF_* / FOLIO_IMAGE_* for bad sources, FOLIO_RENDER_FAILED (with
 * details.page) when one PDF page breaks. Stopping iteration early releases everything.
 */
export async function* renderPages(source: RenderSource, mediaType: string, opts: RenderOptions): AsyncGenerator<RenderedPage> {
  if (!isSupportedMediaType(mediaType)) throw new FolioError('FOLIO_UNSUPPORTED_MEDIA_TYPE', undefined, { mediaType });
  if (isPdf(mediaType)) {
    // pdf.js refuses embedded images above this many pixels instead of decoding a bomb.
    const doc = await openPdf(source, { maxImagePixels: opts.maxInputPixels });
    try {
      checkPageCount(doc.numPages, opts.maxPages);
      yield* renderPdfPages(doc, chosenPages(opts.pages, doc.numPages), opts);
    } finally {
      await doc.destroy();
    }
    return;
  }
  const input = 'path' in source ? source.path : source.data;
  const sizes = await imagePageSizes(input, mediaType, opts);
  yield* renderImagePages(input, mediaType, chosenPages(opts.pages, sizes.length), opts);
}

function chosenPages(range: string | undefined, pageCount: number): number[] {
  const pages = selectPages(range, pageCount);
  if (pages.length === 0) throw new FolioError('FOLIO_PAGE_RANGE_EMPTY', undefined, { pages: range, pageCount });
  return pages;
}
