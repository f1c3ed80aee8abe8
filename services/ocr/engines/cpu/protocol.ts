// Messages between the CPU engine's pool (main thread) and its worker threads.
import type { ErrorCode } from '../../../../shared/operations/errors.ts';
import type { TaskMode } from '../../../../shared/bus/messages.ts';
import type { EngineOutput } from '../../engine.ts';
import type { Lang } from './script.ts';

export interface WorkerInit {
  /** onnxruntime intra-op threads in this worker. */
  threads: number;
  /** Long side the page is scaled to for text detection. */
  detSide: number;
  /** Long side cap of the image line crops are cut from for recognition. */
  recSide: number;
  /** Decoded images above this many pixels are refused (pixel bombs). */
  maxPixels: number;
  /** The recogniser's full convolutions in 8 bits (about 28% less CPU per page); false = float; default true. */
  int8?: boolean;
  /**
   * Detection at the scale of the text and levelled scans (recognize-page.ts read()); false reads
   * the boxes of one detection at detSide, as before (for comparisons). Default true.
   */
  adaptive?: boolean;
}

export interface PageJob {
  id: number;
  /** Encoded image (PNG from the rasterizer; any format sharp reads). Transferred, not copied. */
  image: Uint8Array;
  /** The page's declared size in pixels: boxes are reported in it. */
  width?: number;
  height?: number;
  task: TaskMode;
  /** Page number in the document: figure links are named by it (images/<page>_<k>.jpg). */
  page?: number;
  /** Script the page is expected in (script.ts); absent: auto. */
  lang?: Lang;
}

/** 'retire': release the onnxruntime sessions and exit (sent only while the worker is idle). */
export type ToWorker = { type: 'page'; job: PageJob } | { type: 'cancel'; id: number } | { type: 'retire' };

export type FromWorker =
  | { type: 'ready'; loadMs: number }
  | { type: 'done'; id: number; output: EngineOutput; ms: number; rss: number }
  | { type: 'failed'; id: number; code: ErrorCode; message: string }
  | { type: 'cancelled'; id: number };
