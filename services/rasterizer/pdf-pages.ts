/**
 * PDF pages → PNG with pdf.js, inside a renderer child process (render-child.ts). pdf.js parses
 * and draws on that process's thread (its "worker" runs in-process in Node) while sharp encodes
 * PNGs in libuv's pool, so page N+1 is drawn while page N is encoded: encoding is most of the cost
 * (PLATFORM.md). Page N is therefore handed out once N+1 is drawn — one page later than strictly
 * possible, ~20% more pages/s on scans. A page pdf.js cannot draw comes out as a FailedRender and
 * the pages after it still render.
 */
import sharp from 'sharp';
import { FolioError, isFolioError } from '../../shared/operations/errors.ts';
import type { PDFDocumentProxy, PDFPageProxy } from '../../shared/render/pdfjs.ts';
import type { PageText } from '../../shared/bus/messages.ts';
import { extractPageText } from './text-layer.ts';
import { PNG_OPTIONS, type FailedRender, type RenderedPage, type RenderOutcome } from './types.ts';

export interface PdfRenderOptions {
  dpi: number;
  maxLongSide: number;
  skip?: (page: number) => boolean;
  /** Told before each page is drawn: if the process dies or stalls now, this page is the culprit. */
  onStart?: (page: number) => void | Promise<void>;
}

interface CanvasAndContext {
  canvas: { width: number; height: number; data(): Buffer };
  context: unknown;
}
/** pdf.js types canvasFactory as Object; in Node it is its NodeCanvasFactory over @napi-rs/canvas. */
interface CanvasFactory {
  create(width: number, height: number): CanvasAndContext;
  destroy(entry: CanvasAndContext): void;
}

interface Raster {
  page: number;
  entry: CanvasAndContext;
  width: number;
  height: number;
  text?: PageText;
}

/** Renders `pages` (1-based, ascending) of an open document; the caller owns and destroys `doc`. */
export async function* renderPdfPages(doc: PDFDocumentProxy, pages: number[], opts: PdfRenderOptions): AsyncGenerator<RenderOutcome> {
  const factory = doc.canvasFactory as CanvasFactory;
  let pending: Promise<RenderedPage> | null = null;
  try {
    for (const page of pages) {
      if (opts.skip?.(page)) continue;
      await opts.onStart?.(page);
      let raster: Raster;
      try {
        raster = await renderRaster(doc, factory, page, opts);
      } catch (err) {
        // In page order: the page already drawn first, then this one as failed.
        if (pending) yield await pending;
        pending = null;
        yield failed(page, pages.length, err);
        continue;
      }
      const encoded = encode(raster, pages.length).finally(() => factory.destroy(raster.entry));
      encoded.catch(() => {}); // awaited below; this only keeps an early exit from leaving it unhandled
      const previous = pending;
      pending = encoded;
      if (previous) yield await previous;
    }
    if (pending) yield await pending;
    pending = null;
  } finally {
    // The canvas must outlive sharp's read of it, even when the consumer stops early.
    if (pending) await pending.catch(() => {});
  }
}

async function renderRaster(doc: PDFDocumentProxy, factory: CanvasFactory, pageNumber: number, opts: PdfRenderOptions): Promise<Raster> {
  let page: PDFPageProxy | undefined;
  let entry: CanvasAndContext | undefined;
  try {
    page = await doc.getPage(pageNumber);
    const base = page.getViewport({ scale: 1 }); // honours /Rotate and the crop box
    const longSide = Math.max(base.width, base.height);
    if (!(longSide > 0)) throw new FolioError('FOLIO_RENDER_FAILED', 'The page has no area', { page: pageNumber });
    const viewport = page.getViewport({ scale: Math.min(opts.dpi / 72, opts.maxLongSide / longSide) });
    const width = clampSide(viewport.width, opts.maxLongSide);
    const height = clampSide(viewport.height, opts.maxLongSide);
    entry = factory.create(width, height);
    // pdf.js fills the whole canvas with `background` first, so no transparent edge turns black.
    const params = { canvas: entry.canvas, canvasContext: entry.context, viewport, background: 'white' };
    await page.render(params as unknown as Parameters<PDFPageProxy['render']>[0]).promise;
    const text = await extractPageText(page, pageNumber, viewport.transform, width, height, entry.canvas.data());
    return { page: pageNumber, entry, width, height, text };
  } catch (err) {
    if (entry) factory.destroy(entry);
    if (isFolioError(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new FolioError('FOLIO_RENDER_FAILED', `Page ${pageNumber} could not be rendered: ${message}`, { page: pageNumber }, { cause: err, public: false });
  } finally {
    page?.cleanup(); // drops the page's operator list and decoded images; fonts stay for the next page
  }
}

function failed(page: number, count: number, err: unknown): FailedRender {
  const error = isFolioError(err) ? err : new FolioError('FOLIO_RENDER_FAILED', `Page ${page} could not be rendered`, { page }, { cause: err });
  return { page, count, error };
}

const clampSide = (v: number, max: number) => Math.min(max, Math.max(1, Math.round(v)));

async function encode(r: Raster, count: number): Promise<RenderedPage> {
  // data() is a view of the canvas's own pixels (premultiplied RGBA, opaque here): no copy, so
  // the canvas must outlive this call — the caller destroys it once the promise settles.
  const png = await sharp(r.entry.canvas.data(), { raw: { width: r.width, height: r.height, channels: 4 } })
    .removeAlpha()
    .png(PNG_OPTIONS)
    .toBuffer();
  return { page: r.page, count, png, width: r.width, height: r.height, ...(r.text ? { text: r.text } : {}) };
}
