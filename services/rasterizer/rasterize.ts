/**
 * Source file → page images, one at a time, rendered in a renderer process (render-child.ts) so
 * that pdf.js and image decoding never run on the service's event loop. Each page has a deadline;
 * a page whose renderer stalls past it, crashes or runs out of memory comes out as a FailedRender
 * (the process is replaced and the document reopened for the pages after it), and so does a page
 * pdf.js cannot draw. Opening the document has its own deadline; a document that cannot be opened
 * throws. No NATS, no env: the service feeds each page to OCR as soon as it exists, and resumes a
 * half-done document with `skip`.
 */
import { FolioError, toFolioError } from '../../shared/operations/index.ts';
import type { HostPool, WorkerHost } from '../../shared/render/index.ts';
import type { BeginRequest, NextReply, OpenReply, OpenRequest, StartedEvent } from './render-protocol.ts';
import type { FailedRender, RenderOutcome } from './types.ts';

export type { FailedRender, RenderedPage, RenderOutcome } from './types.ts';
export { isFailedRender } from './types.ts';

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
  openTimeoutMs: number;
  pageTimeoutMs: number;
  /** Aborting kills the renderer; the generator then throws the abort reason. */
  signal?: AbortSignal;
  /** The test-only fault (options.testFault), passed to the renderer (test-only). */
  testFault?: string;
}

const LOSS_CODES = new Set(['FOLIO_RENDER_TIMEOUT', 'FOLIO_RENDER_CRASHED']);

/**
 * Yields the selected pages in ascending order, each rendered or failed. Throws FolioErrors for
 * the document as a whole: FOLIO_PAGE_RANGE_EMPTY, FOLIO_TOO_MANY_PAGES, FOLIO_PDF_* / FOLIO_IMAGE_*,
 * FOLIO_RENDER_TIMEOUT / FOLIO_RENDER_CRASHED when opening it stalls or kills the renderer.
 * Stopping iteration early releases the renderer.
 */
export async function* renderPages(renderers: HostPool, source: RenderSource, mediaType: string, opts: RenderOptions): AsyncGenerator<RenderOutcome> {
  opts.signal?.throwIfAborted();
  const host = await renderers.acquire();
  const onAbort = () => host.kill(toFolioError(opts.signal?.reason));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let openIn = -1; // the renderer generation holding the document
  try {
    const { selected } = await openDocument(host, source, mediaType, opts);
    openIn = host.generation();
    let todo = selected.filter((p) => !opts.skip?.(p));
    if (todo.length === 0) return;
    const count = selected.length;
    await begin(host, selected, todo, opts);
    const started: number[] = []; // pages the current renderer began and has not handed back
    // The page a stall or crash is blamed on: the newest one begun (drawing is what hangs; the
    // page before it, drawn and being encoded, is rendered again by the next renderer).
    const culprit = () => started.at(-1) ?? todo[0];
    // Lost pages wait here until the pages before them are out: pages leave in ascending order,
    // which is what the rasterizer's resume point relies on.
    const lost: FailedRender[] = [];
    const lostBefore = (page: number) => lost.splice(0, lost.filter((l) => l.page < page).length);
    while (todo.length > 0) {
      let reply: NextReply;
      try {
        if (host.generation() !== openIn) throw host.lastLoss() ?? new FolioError('FOLIO_RENDER_CRASHED', 'The renderer process was lost');
        reply = await host.call<NextReply>(
          'next',
          {},
          {
            timeoutMs: opts.pageTimeoutMs,
            timeoutError: () =>
              new FolioError('FOLIO_RENDER_TIMEOUT', `Page ${culprit()} took longer than ${opts.pageTimeoutMs} ms to render`, { page: culprit() }),
            onEvent: (e) => started.push((e as StartedEvent).started),
          },
        );
      } catch (raw) {
        const err = toFolioError(raw);
        if (!LOSS_CODES.has(err.code)) throw err;
        opts.signal?.throwIfAborted();
        const page = culprit();
        const message = err.code === 'FOLIO_RENDER_TIMEOUT' ? err.message : `Page ${page}: ${err.message}`;
        lost.push({ page, count, error: new FolioError(err.code, message, { ...err.details, page }) });
        lost.sort((a, b) => a.page - b.page);
        todo = todo.filter((p) => p !== page);
        started.length = 0;
        if (todo.length === 0) break;
        // A fresh renderer: open the document again and carry on without the lost page.
        await openDocument(host, source, mediaType, opts);
        openIn = host.generation();
        await begin(host, selected, todo, opts);
        continue;
      }
      if (reply.kind === 'done') break;
      const page = reply.kind === 'page' ? reply.page.page : reply.page;
      todo = todo.filter((p) => p !== page);
      started.splice(0, started.indexOf(page) + 1);
      yield* lostBefore(page);
      if (reply.kind === 'failed') {
        const e = reply.error;
        yield { page, count, error: new FolioError(e.code, e.message, { ...e.details, page }, { public: e.public }) };
      } else {
        const png: Uint8Array = reply.page.png; // a Uint8Array after the trip between processes
        yield { ...reply.page, png: Buffer.isBuffer(png) ? png : Buffer.from(png.buffer, png.byteOffset, png.byteLength) };
      }
    }
    yield* lost;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    // The renderer drops the document (and any page drawn ahead) before it serves someone else.
    if (host.generation() === openIn && host.pid() !== undefined) {
      await host
        .call('close', {}, { timeoutMs: 10_000, timeoutError: () => new FolioError('FOLIO_RENDER_TIMEOUT', 'Closing the document timed out') })
        .catch(() => {});
    }
    renderers.release(host);
  }
}

function openDocument(host: WorkerHost, source: RenderSource, mediaType: string, opts: RenderOptions): Promise<OpenReply> {
  const req: OpenRequest = { source, mediaType, pages: opts.pages, maxPages: opts.maxPages, maxInputPixels: opts.maxInputPixels };
  return host.call<OpenReply>('open', req, {
    timeoutMs: opts.openTimeoutMs,
    timeoutError: () => new FolioError('FOLIO_RENDER_TIMEOUT', `The document could not be opened within ${opts.openTimeoutMs} ms`),
  });
}

function begin(host: WorkerHost, selected: number[], todo: number[], opts: RenderOptions): Promise<void> {
  const req: BeginRequest = { selected, todo, dpi: opts.dpi, maxLongSide: opts.maxLongSide, maxInputPixels: opts.maxInputPixels, testFault: opts.testFault };
  return host.call<void>('begin', req, {
    timeoutMs: opts.pageTimeoutMs,
    timeoutError: () => new FolioError('FOLIO_RENDER_TIMEOUT', 'The renderer did not answer'),
  });
}
