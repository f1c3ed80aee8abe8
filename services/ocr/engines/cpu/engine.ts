// The embedded CPU OCR engine (PaddleOCR PP-OCRv4 on onnxruntime-node), the default when no
// vLLM backend is configured. Workers start on the first page, each loading the models once.
import { availableParallelism } from 'node:os';
import type { Logger } from '../../../../shared/operations/index.ts';
import type { OcrEngine } from '../../engine.ts';
import { createWorkerPool, type PoolStats } from './pool.ts';

export interface CpuEngineOptions {
  /** Worker threads, i.e. pages read at once. Each holds its own copy of the models (~0.55 GB peak RSS). */
  workers: number;
  log?: Logger;
  /** onnxruntime threads per worker; default: the machine's cores shared out among the workers (at most 4). */
  threadsPerWorker?: number;
  /**
   * Long side for text detection. Swept 960–2048 on the samples and doc10 when boxes were cut
   * differently: 1280 read best then (960 lost characters; 1600+ gained none and cost up to 1.7×
   * time and 2× memory). Measured again with today's crops (bench/ocr-quality.ts, doc10, the
   * engine tests), 960 reads as well as 1280 — pooled degraded CER 0.61% vs 1.03%, multi-column
   * 0.10% vs 0.11%, Chinese 1.08% vs 1.25%, clean English 0.09% vs 0.05%, doc10 0.24% vs 0.22% —
   * for 45% fewer detector pixels (~5% of a page's CPU).
   */
  detSide?: number;
  /** Long side cap for the image lines are read from: full 144-DPI pages, fewer pixels at 300 DPI. */
  recSide?: number;
  /** Refuse images with more pixels than this (the rasterizer caps pages well below). */
  maxPixels?: number;
  /**
   * The recogniser in 8 bits (default): measured here (a CPU with AVX512-VNNI) at 28% less CPU per
   * page for +0.2 points of CER on degraded and Chinese pages. CPUs without VNNI may read worse.
   */
  int8?: boolean;
  /** Retire a worker (between pages) and start a fresh one after this many pages; 0 or absent: never. */
  recyclePages?: number;
  /** Retire a worker when the process RSS after a page is above this many bytes; 0 or absent: never. */
  recycleRssBytes?: number;
}

export function createCpuEngine(opts: CpuEngineOptions): OcrEngine & { stats(): PoolStats } {
  if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new RangeError(`workers must be a positive integer, got ${opts.workers}`);
  // Line crops are small: past ~4 threads a run is mostly synchronisation; add workers instead.
  const threads = opts.threadsPerWorker ?? Math.min(4, Math.max(1, Math.floor(availableParallelism() / opts.workers)));
  const pool = createWorkerPool({
    size: opts.workers,
    log: opts.log,
    recyclePages: opts.recyclePages,
    recycleRssBytes: opts.recycleRssBytes,
    init: { threads, detSide: opts.detSide ?? 960, recSide: opts.recSide ?? 2048, maxPixels: opts.maxPixels ?? 100_000_000, int8: opts.int8 ?? true },
  });
  return {
    name: 'cpu',
    concurrency: () => opts.workers,
    recognize: (input, signal) =>
      pool.run({ image: input.image, width: input.width, height: input.height, task: input.task, lang: input.lang, page: input.page }, signal),
    stats: () => pool.stats(),
    close: () => pool.close(),
  };
}
