import type { Block, JobOptions, PageAttempt, PageText, TaskMode } from '../../shared/bus/messages.ts';
import type { TokenLogprob } from './quality.ts';

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
  /** Issue 18: the answer's token log-probabilities, when the server returned them (single-call pages). */
  tokens?: TokenLogprob[];
  /** Issue 18: the first answer ran into max_tokens and this one came from a lighter prompt. */
  truncated?: boolean;
  /** Issue 18: tries inside the engine that were not kept (a truncated layout pass before the lighter prompt). */
  attempts?: PageAttempt[];
}

/** Issue 18: how a page is read again after a bad answer. `loop`: the model profile's official loop mitigation. */
export interface RecognizeOptions {
  mitigation?: 'loop';
}

export interface OcrEngine {
  readonly name: string;
  /** How many pages this engine can usefully work on at once (sizes the ocr service's slots). */
  concurrency(): number;
  /** Throws FolioError with an engine code (FOLIO_ENGINE_*) on failure; honours the abort signal. */
  recognize(input: PageInput, signal: AbortSignal, options?: RecognizeOptions): Promise<EngineOutput>;
  close(): Promise<void>;
}
