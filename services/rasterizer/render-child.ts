/**
 * The rasterizer's renderer process (forked by renderers.ts): holds one open document and hands
 * out its pages one `next` call at a time, so the service stays in control of pacing (at most one
 * page drawn ahead) and can kill this process on a deadline without losing more than one page.
 * pdf.js is loaded here and nowhere in the service's own process.
 */
import { FolioError } from '../../shared/operations/errors.ts';
import { isPdf, isSupportedMediaType } from '../../shared/document/media-type.ts';
import { selectPages } from '../../shared/bus/page-range.ts';
import { openPdf, type PDFDocumentProxy } from '../../shared/render/pdfjs.ts';
import { serveCalls, type CallContext } from '../../shared/render/child.ts';
import { checkPageCount, imagePageSizes, type ImageInput } from '../../shared/render/source-probe.ts';
import { renderImagePages } from './image-pages.ts';
import { renderPdfPages } from './pdf-pages.ts';
import type { RenderOutcome } from './types.ts';
import type { BeginRequest, NextReply, OpenReply, OpenRequest } from './render-protocol.ts';

let doc: PDFDocumentProxy | undefined;
let image: { input: ImageInput; mediaType: string } | undefined;
let pages: AsyncGenerator<RenderOutcome> | undefined;
/** Where "page started" events go: the `next` call in progress (a page drawn ahead starts during the previous call). */
let emit: CallContext['emit'] = () => {};

async function closeDocument(): Promise<void> {
  await pages?.return(undefined).catch(() => {});
  pages = undefined;
  await doc?.destroy().catch(() => {});
  doc = undefined;
  image = undefined;
}

function chosenPages(range: string | undefined, pageCount: number): number[] {
  const selected = selectPages(range, pageCount);
  if (selected.length === 0) throw new FolioError('FOLIO_PAGE_RANGE_EMPTY', undefined, { pages: range, pageCount });
  return selected;
}

async function open(req: OpenRequest): Promise<OpenReply> {
  await closeDocument();
  if (!isSupportedMediaType(req.mediaType)) throw new FolioError('FOLIO_UNSUPPORTED_MEDIA_TYPE', undefined, { mediaType: req.mediaType });
  const source = 'path' in req.source ? req.source : { data: Buffer.from(req.source.data) };
  if (isPdf(req.mediaType)) {
    // pdf.js refuses embedded images above this many pixels instead of decoding a bomb.
    doc = await openPdf(source, { maxImagePixels: req.maxInputPixels });
    checkPageCount(doc.numPages, req.maxPages);
    return { selected: chosenPages(req.pages, doc.numPages) };
  }
  const input = 'path' in source ? source.path : source.data;
  const sizes = await imagePageSizes(input, req.mediaType, req);
  image = { input, mediaType: req.mediaType };
  return { selected: chosenPages(req.pages, sizes.length) };
}

async function begin(req: BeginRequest): Promise<void> {
  await pages?.return(undefined).catch(() => {});
  const todo = new Set(req.todo);
  const opts = { ...req, skip: (p: number) => !todo.has(p), onStart: (p: number) => started(p, req.testFault) };
  if (doc) pages = renderPdfPages(doc, req.selected, opts);
  else if (image) pages = renderImagePages(image.input, image.mediaType, req.selected, opts);
  else throw new FolioError('FOLIO_INTERNAL', 'no document is open');
}

async function started(page: number, fault: string | undefined): Promise<void> {
  emit({ started: page });
  // The test fault "rasterizer:<page>:exit|hang": this renderer dies or stalls on that page, every time.
  const [stage, faultPage, kind] = fault?.split(':') ?? [];
  if (stage !== 'rasterizer' || Number(faultPage) !== page) return;
  await new Promise((r) => setTimeout(r, 100)); // lets the "started" event out first, as a real crash mid-page would
  if (kind === 'exit') process.kill(process.pid, 'SIGKILL');
  await new Promise(() => {}); // never draws the page
}

async function next(_: unknown, ctx: CallContext): Promise<NextReply> {
  if (!pages) throw new FolioError('FOLIO_INTERNAL', 'no pages were asked for');
  emit = ctx.emit;
  const r = await pages.next();
  if (r.done) return { kind: 'done' };
  const o = r.value;
  if ('error' in o) return { kind: 'failed', page: o.page, error: { code: o.error.code, message: o.error.message, public: o.error.public } };
  return { kind: 'page', page: o };
}

serveCalls({
  open: (req: OpenRequest) => open(req),
  begin: (req: BeginRequest) => begin(req),
  next,
  close: () => closeDocument(),
});
