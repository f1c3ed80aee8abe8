/**
 * The one place that opens PDFs with pdf.js, so every caller gets the same hardened, Node-safe
 * options (see /work/shared/PLATFORM.md, "PDF rendering: pdfjs-dist").
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFile } from 'node:fs/promises';
// The modern build needs DOMMatrix and friends, which Node lacks; the legacy build polyfills them.
import { getDocument, type PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { FolioError } from '../operations/errors.ts';

// Node runs pdf.js's "worker" in-process; loaded lazily it costs ~1 s (under tsx) on the first
// document, i.e. on some user's request. Loading it with this module moves that to start-up.
// (The specifier is a variable because pdfjs-dist ships no types for the worker module.)
const WORKER_MODULE = 'pdfjs-dist/legacy/build/pdf.worker.mjs';
(globalThis as { pdfjsWorker?: unknown }).pdfjsWorker ??= await import(WORKER_MODULE);

export type { PDFDocumentProxy, PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';

// pdf.js in Node fetches these through fs, so they must be plain paths with a trailing '/':
// without them non-embedded Helvetica renders as boxes and CJK text vanishes.
const pkgDir = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const assetDir = (name: string) => join(pkgDir, name) + '/';
const STANDARD_FONTS = assetDir('standard_fonts');
const CMAPS = assetDir('cmaps');
const WASM = assetDir('wasm');

export type PdfSource = { path: string } | { data: Buffer | Uint8Array };

/**
 * Opens a PDF. pdf.js transfers (detaches) the buffer it is given, so a copy is handed over
 * when the caller passed its own data. Callers must `destroy()` the document.
 * Errors: password → FOLIO_PDF_ENCRYPTED; anything unreadable → FOLIO_PDF_CORRUPT.
 */
export async function openPdf(source: PdfSource, opts: { maxImagePixels?: number } = {}): Promise<PDFDocumentProxy> {
  const data = 'path' in source ? ownedBytes(await readFile(source.path)) : new Uint8Array(source.data);
  const task = getDocument({
    data,
    isEvalSupported: false, // CVE-2024-4367: font code must never reach eval/new Function
    // Keeps font flags on the main-thread font objects; `missingFile` (no glyph data → boxes) is
    // how the rasterizer knows a page's image is unreadable and its text layer is the truth.
    fontExtraProperties: true,
    standardFontDataUrl: STANDARD_FONTS,
    cMapUrl: CMAPS,
    cMapPacked: true,
    wasmUrl: WASM,
    useSystemFonts: false, // renders must not depend on what fonts a container happens to have
    stopAtErrors: false,
    verbosity: 0, // pdf.js warns on console for every odd font; our logs are structured
    // An embedded image above this is left out of the render rather than decoded (pixel bomb).
    maxImageSize: opts.maxImagePixels ?? -1,
  });
  try {
    return await task.promise;
  } catch (err) {
    await task.destroy().catch(() => {});
    throw toPdfError(err);
  }
}

// readFile's buffer is ours alone, so a view on it avoids a second copy of a large file — unless
// it sits in Node's shared pool (small files), which pdf.js must not detach.
function ownedBytes(buf: Buffer): Uint8Array {
  const whole = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength;
  return whole ? new Uint8Array(buf.buffer, 0, buf.byteLength) : new Uint8Array(buf);
}

export function toPdfError(err: unknown): FolioError {
  if (err instanceof FolioError) return err;
  // pdf.js does not export PasswordException; its name is the stable part.
  if ((err as { name?: string } | null)?.name === 'PasswordException') {
    return new FolioError('FOLIO_PDF_ENCRYPTED', undefined, undefined, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new FolioError('FOLIO_PDF_CORRUPT', `The PDF cannot be read: ${message}`, undefined, { cause: err });
}
