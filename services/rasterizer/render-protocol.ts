/** The calls between the rasterizer (rasterize.ts) and its renderer process (render-child.ts). */
import type { SerializedError } from '../../shared/render/protocol.ts';
import type { RenderedPage } from './types.ts';

export interface OpenRequest {
  source: { path: string } | { data: Uint8Array };
  mediaType: string;
  /** Page range as users type it; all pages when absent. */
  pages?: string;
  maxPages: number;
  maxInputPixels: number;
}

export interface OpenReply {
  /** The pages the range selects, ascending; their number is every page's `count`. */
  selected: number[];
}

export interface BeginRequest {
  selected: number[];
  /** The selected pages still to render, in order (a resumed or restarted document skips the others). */
  todo: number[];
  dpi: number;
  maxLongSide: number;
  maxInputPixels: number;
  testFault?: string;
}

export type NextReply = { kind: 'page'; page: RenderedPage } | { kind: 'failed'; page: number; error: SerializedError } | { kind: 'done' };

/** Progress events sent during a `next` call. */
export interface StartedEvent {
  started: number;
}
