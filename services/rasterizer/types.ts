import type { PageText } from '../../shared/bus/messages.ts';
import type { FolioError } from '../../shared/operations/errors.ts';

/** One rendered page, as the rasterizer hands it to OCR. */
export interface RenderedPage {
  /** 1-based page number in the source document. */
  page: number;
  /** How many pages the job selected (after the page range), skipped ones included. */
  count: number;
  png: Buffer;
  width: number;
  height: number;
  /** The PDF's own text layer in image pixels; only for PDF pages that have text. */
  text?: PageText;
}

/**
 * zlib level 3: on 144-DPI scanned pages it encodes ~3× faster than sharp's default 6 (text
 * pages: about the same) for files 3–20% larger; encoding is the slowest step of rasterizing.
 */
export const PNG_OPTIONS = { compressionLevel: 3 } as const;

/** A page that could not be rendered (pdf.js error, renderer crash or deadline): the job goes on without it. */
export interface FailedRender {
  page: number;
  count: number;
  error: FolioError;
}

export type RenderOutcome = RenderedPage | FailedRender;

export const isFailedRender = (o: RenderOutcome): o is FailedRender => 'error' in o;
