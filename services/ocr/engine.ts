import type { Block, JobOptions, PageText, TaskMode } from '../../shared/messages.ts';

/** One page as an engine sees it. */
export interface PageInput {
  page: number;
  /** PNG bytes, already upright and RGB (the rasterizer normalises). */
  image: Buffer;
  width: number;
  height: number;
  task: TaskMode;
  /** Script the page is expected in (JobOptions.lang); absent: auto. */
  lang?: JobOptions['lang'];
  /** The PDF text layer, when the page had one. */
  text?: PageText;
}

/** What every engine returns; the ocr handler adds page, size and timing to make a PageResult. */
export interface EngineOutput {
  /** Which engine produced it: "cpu", "vllm", "text-layer", … (reported per page in the job status). */
  engine: string;
  markdown: string;
  /** Boxes in page-image pixels. */
  blocks: Block[];
  /** The engine's raw output (model text, or JSON of detected lines). */
  raw: string;
}

export interface OcrEngine {
  readonly name: string;
  /** How many pages this engine can usefully work on at once (sizes the ocr service's slots). */
  concurrency(): number;
  /** Throws FolioError with an engine code (FOLIO_ENGINE_*) on failure; honours the abort signal. */
  recognize(input: PageInput, signal: AbortSignal): Promise<EngineOutput>;
  close(): Promise<void>;
}
