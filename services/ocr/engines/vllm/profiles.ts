/**
 * Model profiles: what differs between OCR vision models served by vLLM — the message shape, the
 * prompt per task, the client-side image preparation, the sampling settings and logits-processor
 * arguments (the request body), the call topology (one call, or MinerU's layout + blocks) and the
 * output parser. A backend is configured with one (options.ocr.vllm.profiles), so another model is a setting,
 * not a fork of the engine. The facts per model are in docs/models.md.
 */
import type { TaskMode } from '../../../../shared/bus/index.ts';
import { CHANDRA_OCR_PROMPT, CHANDRA_PROMPTS, parseChandraOutput } from './chandra.ts';
import {
  CONTEXT_TOKENS,
  FALLBACK_PROMPT,
  TASK_PROMPTS,
  buildChatBody,
  buildRequestBody,
  parseDeepSeekOutput,
  promptTokens as deepseekPromptTokens,
} from './deepseek.ts';
import { DOTS_IMAGE_PLACEHOLDER, DOTS_OCR_PROMPT, DOTS_PROMPTS, parseDotsOutput } from './dots.ts';
import type { ParsedPage } from './grounding.ts';
import { cappedSize, cropBlock, resizeTo, scaledSize, type PreparedImage } from './images.ts';
import { assembleMinerU, MINERU_LAYOUT_SIZE, MINERU_PROMPTS, MINERU_SYSTEM, mineruSampling, parseMinerULayout, type LayoutBlock } from './mineru.ts';
import { NANONETS_PROMPTS, NANONETS_SHORTEST_SIDE, NANONETS_SYSTEM, parseNanonetsOutput } from './nanonets.ts';
import { OLMOCR_LONGEST_SIDE, OLMOCR_PROMPTS, parseOlmOcrOutput } from './olmocr.ts';
import { PADDLE_MAX_PIXELS, PADDLE_MIN_PIXELS, PADDLE_PROMPTS, parsePaddleOutput } from './paddleocr-vl.ts';
import { parsePlainMarkdown } from './plain.ts';
import { smartResize } from './vlm-text.ts';

export const PROFILE_NAMES = [
  'deepseek-ocr',
  'deepseek-ocr-2',
  'dots-ocr',
  'olmocr-2',
  'chandra',
  'nanonets-ocr2',
  'paddleocr-vl',
  'mineru-2.5',
  'plain',
] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export type { PreparedImage } from './images.ts';

export interface BodyParams {
  model: string;
  /** PNG bytes as prepared by the profile. */
  image: Buffer;
  prompt: string;
  maxTokens: number;
}

export interface ProfileParseOptions {
  page: number;
  task: TaskMode;
  prompt: string;
  /** Size of the image that was sent, when the profile resized the page (boxes of some models are in its pixels). */
  sent?: { width: number; height: number };
}

/** Models that read a page in two stages: a layout call, then one call per block on crops of the page. */
export interface TwoStage {
  layoutPrompt: string;
  prepareLayout(image: Buffer, width: number, height: number): Promise<PreparedImage>;
  /** The layout answer → blocks in page pixels, each with its content prompt (null: no call). */
  blocks(raw: string, width: number, height: number): LayoutBlock[];
  crop(image: Buffer, block: LayoutBlock, width: number, height: number): Promise<PreparedImage | null>;
  /** Blocks and their answers (null where no call was made) → the page. */
  assemble(blocks: LayoutBlock[], contents: Array<string | null>, width: number, height: number): ParsedPage;
}

export interface ModelProfile {
  name: ProfileName;
  /** The model's Hugging Face id (the served model name's default for it, and the simulator's). */
  hfModel: string;
  prompts: Readonly<Record<TaskMode, string>>;
  /** A cheaper prompt to retry a truncated page with (none: truncation fails the page). */
  fallbackPrompt?: string;
  /** Context length when the server does not report `max_model_len` in /v1/models. */
  defaultContextTokens: number;
  /** Upper estimate of a page's prompt tokens (image as the profile sends it + text + template), from the page's size. */
  promptTokens(width: number, height: number, prompt: string): number;
  /** Client-side image preparation (the size the model was trained on); absent: the page as rendered. */
  prepare?(image: Buffer, width: number, height: number): Promise<PreparedImage>;
  body(p: BodyParams): Record<string, unknown>;
  /** Pure: the model's raw answer and the page size → Markdown and blocks in page pixels. */
  parse(raw: string, width: number, height: number, opts: ProfileParseOptions): ParsedPage;
  twoStage?: TwoStage;
}

const dataUrl = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;
const imagePart = (png: Buffer) => ({ type: 'image_url', image_url: { url: dataUrl(png) } });
const textPart = (text: string) => ({ type: 'text', text });
/** Qwen2-VL-style encoders spend one token per 28×28 pixels of the (smart-resized) image. */
const qwenTokens = (w: number, h: number, factor = 28, max = 11_289_600) => {
  const s = smartResize(h, w, factor, 3136, max);
  return (s.width / factor) * (s.height / factor);
};
const textTokens = (prompt: string) => Math.ceil(prompt.length / 2) + 32;
const allTasks = (p: string): Record<TaskMode, string> => ({ markdown: p, ocr: p, free: p, figure: p, describe: p });

const deepseek: ModelProfile = {
  name: 'deepseek-ocr',
  hfModel: 'deepseek-ai/DeepSeek-OCR',
  prompts: TASK_PROMPTS,
  fallbackPrompt: FALLBACK_PROMPT,
  defaultContextTokens: CONTEXT_TOKENS,
  promptTokens: deepseekPromptTokens,
  body: (p) => buildRequestBody(p) as unknown as Record<string, unknown>,
  // The fallback prompt has no grounding: whatever the task, parse what was asked.
  parse: (raw, w, h, o) => parseDeepSeekOutput(raw, w, h, { page: o.page, task: o.prompt === TASK_PROMPTS.ocr ? 'ocr' : o.task }),
};

/**
 * DeepSeek-OCR-2: v1's prompts, grammar and /999 boxes; a 1024 global view plus up to six 768 px
 * tiles (256 + 1 + 144 per tile vision tokens), and the image script's n-gram window (20/90).
 */
export function deepseek2ImageTokens(width: number, height: number): number {
  if (width <= 768 && height <= 768) return 257;
  const ratio = width / height;
  let best = 2;
  let bestDiff = Infinity;
  for (let n = 2; n <= 6; n++)
    for (let i = 1; i <= n; i++) if (n % i === 0 && Math.abs(ratio - i / (n / i)) < bestDiff) [best, bestDiff] = [n, Math.abs(ratio - i / (n / i))];
  return 257 + best * 144;
}

const deepseek2: ModelProfile = {
  ...deepseek,
  name: 'deepseek-ocr-2',
  hfModel: 'deepseek-ai/DeepSeek-OCR-2',
  promptTokens: (w, h, prompt) => deepseek2ImageTokens(w, h) + Math.ceil(prompt.length / 2) + 16,
  body: (p) => ({ ...buildRequestBody(p), vllm_xargs: { ngram_size: 20, window_size: 90, whitelist_token_ids: [128821, 128822] } }),
};

/** dots.ocr / dots.mocr: the image placeholder before the prompt, temperature 0.1 / top_p 1.0 (the parser CLI). */
const dots: ModelProfile = {
  name: 'dots-ocr',
  hfModel: 'rednote-hilab/dots.mocr',
  prompts: DOTS_PROMPTS,
  fallbackPrompt: DOTS_OCR_PROMPT,
  defaultContextTokens: 32_768,
  promptTokens: (w, h, prompt) => qwenTokens(w, h) + textTokens(prompt),
  body: (p) => ({
    model: p.model,
    messages: [{ role: 'user', content: [imagePart(p.image), textPart(DOTS_IMAGE_PLACEHOLDER + p.prompt)] }],
    temperature: 0.1,
    top_p: 1.0,
    max_tokens: p.maxTokens,
  }),
  parse: (raw, w, h, o) => parseDotsOutput(raw, w, h, { sent: o.sent, textOnly: o.prompt === DOTS_OCR_PROMPT }),
};

/** olmOCR-2: text first, then the image at 1288 px longest side; temperature 0.1 (the first rung of its ladder). */
const olmocr: ModelProfile = {
  name: 'olmocr-2',
  hfModel: 'allenai/olmOCR-2-7B-1025-FP8',
  prompts: OLMOCR_PROMPTS,
  defaultContextTokens: 16_384,
  promptTokens: (w, h, prompt) => {
    const s = scaledSize(w, h, OLMOCR_LONGEST_SIDE, 'longest');
    return qwenTokens(s.width, s.height) + textTokens(prompt);
  },
  prepare: (image, w, h) => resizeTo(image, w, h, scaledSize(w, h, OLMOCR_LONGEST_SIDE, 'longest')),
  body: (p) => ({ model: p.model, messages: [{ role: 'user', content: [textPart(p.prompt), imagePart(p.image)] }], temperature: 0.1, max_tokens: p.maxTokens }),
  parse: (raw, w, h) => parseOlmOcrOutput(raw, w, h),
};

/** Chandra's area cap (`scale_to_fit`: 3072 × 2048). */
export const CHANDRA_MAX_PIXELS = 3072 * 2048;

/** Chandra's `load_image`: a page whose short side is under 1536 px is upscaled to it (its PDF path renders at ≥ 192 dpi), then the area cap applies. */
export function chandraSize(width: number, height: number): { width: number; height: number } {
  const up = Math.min(width, height) < CHANDRA_MIN_SHORT_SIDE ? scaledSize(width, height, CHANDRA_MIN_SHORT_SIDE, 'shortest') : { width, height };
  return cappedSize(up.width, up.height, CHANDRA_MAX_PIXELS);
}
export const CHANDRA_MIN_SHORT_SIDE = 1536;

/** Chandra / Chandra 2: image then text, temperature 0 / top_p 0.1, short side ≥ 1536, area capped at ~6.3 MP. */
const chandra: ModelProfile = {
  name: 'chandra',
  hfModel: 'datalab-to/chandra-ocr-2',
  prompts: CHANDRA_PROMPTS,
  fallbackPrompt: CHANDRA_OCR_PROMPT,
  defaultContextTokens: 32_768,
  // Qwen3-VL: one token per 32×32 pixels.
  promptTokens: (w, h, prompt) => {
    const s = chandraSize(w, h);
    return qwenTokens(s.width, s.height, 32, CHANDRA_MAX_PIXELS) + textTokens(prompt);
  },
  prepare: (image, w, h) => resizeTo(image, w, h, chandraSize(w, h)),
  body: (p) => ({
    model: p.model,
    messages: [{ role: 'user', content: [imagePart(p.image), textPart(p.prompt)] }],
    temperature: 0,
    top_p: 0.1,
    max_tokens: p.maxTokens,
  }),
  parse: (raw, w, h) => parseChandraOutput(raw, w, h),
};

/** Nanonets-OCR2: a system message, the page at 1280 px shortest side, greedy. */
const nanonets: ModelProfile = {
  name: 'nanonets-ocr2',
  hfModel: 'nanonets/Nanonets-OCR2-3B',
  prompts: NANONETS_PROMPTS,
  defaultContextTokens: 16_384,
  promptTokens: (w, h, prompt) => {
    const s = scaledSize(w, h, NANONETS_SHORTEST_SIDE, 'shortest');
    return qwenTokens(s.width, s.height) + textTokens(prompt + NANONETS_SYSTEM);
  },
  prepare: (image, w, h) => resizeTo(image, w, h, scaledSize(w, h, NANONETS_SHORTEST_SIDE, 'shortest')),
  body: (p) => ({
    model: p.model,
    messages: [
      { role: 'system', content: NANONETS_SYSTEM },
      { role: 'user', content: [imagePart(p.image), textPart(p.prompt)] },
    ],
    temperature: 0,
    max_tokens: p.maxTokens,
  }),
  parse: (raw, w, h) => parseNanonetsOutput(raw, w, h),
};

/** PaddleOCR-VL: the whole page with one task prompt; the recogniser's pixel bounds ride along. */
const paddle: ModelProfile = {
  name: 'paddleocr-vl',
  hfModel: 'PaddlePaddle/PaddleOCR-VL',
  prompts: PADDLE_PROMPTS,
  defaultContextTokens: 16_384,
  promptTokens: (w, h, prompt) => qwenTokens(w, h, 28, PADDLE_MAX_PIXELS) + textTokens(prompt),
  body: (p) => ({
    model: p.model,
    messages: [{ role: 'user', content: [imagePart(p.image), textPart(p.prompt)] }],
    temperature: 0,
    max_tokens: p.maxTokens,
    skip_special_tokens: true,
    mm_processor_kwargs: { min_pixels: PADDLE_MIN_PIXELS, max_pixels: PADDLE_MAX_PIXELS },
  }),
  parse: (raw, w, h, o) => parsePaddleOutput(raw, w, h, o.prompt),
};

/** MinerU2.5: system message, image then text, its sampling per block type; two stages (twoStage). */
const mineru: ModelProfile = {
  name: 'mineru-2.5',
  hfModel: 'opendatalab/MinerU2.5-2509-1.2B',
  prompts: allTasks(MINERU_PROMPTS.layout),
  defaultContextTokens: 16_384,
  promptTokens: (_w, _h, prompt) => (MINERU_LAYOUT_SIZE / 28) ** 2 + textTokens(prompt + MINERU_SYSTEM),
  body: (p) => ({
    model: p.model,
    messages: [
      { role: 'system', content: MINERU_SYSTEM },
      { role: 'user', content: [imagePart(p.image), textPart(p.prompt)] },
    ],
    max_tokens: p.maxTokens,
    ...mineruSampling(p.prompt),
  }),
  // A single-call answer (the layout prompt's) has no content: only the two-stage path reads pages.
  parse: (raw, w, h) => assembleMinerU(parseMinerULayout(raw, w, h), []),
  twoStage: {
    layoutPrompt: MINERU_PROMPTS.layout,
    prepareLayout: (image, w, h) => resizeTo(image, w, h, { width: MINERU_LAYOUT_SIZE, height: MINERU_LAYOUT_SIZE }, 'fill'),
    blocks: (raw, w, h) => parseMinerULayout(raw, w, h),
    crop: (image, b, w, h) => cropBlock(image, b.bbox, b.angle, w, h),
    assemble: (blocks, contents) => assembleMinerU(blocks, contents),
  },
};

/**
 * Prompts in the spirit of olmOCR's and Qwen2.5-VL's document prompts, for models without a
 * profile of their own.
 */
const PLAIN_PROMPTS: Record<TaskMode, string> = {
  markdown:
    'Convert this document page to Markdown in natural reading order. Write headings with #, tables as HTML <table> (keep rowspan and colspan), formulas as LaTeX (\\( \\) inline, \\[ \\] display). Output only the page content.',
  ocr: 'Read all the text in this image in reading order. Output only the text.',
  free: 'Read all the text in this image in reading order. Output only the text.',
  figure: 'Describe this figure or chart; if it shows data, give it as an HTML <table>.',
  describe: 'Describe this image in detail.',
};

const plain: ModelProfile = {
  name: 'plain',
  hfModel: 'Qwen/Qwen2.5-VL-7B-Instruct',
  prompts: PLAIN_PROMPTS,
  defaultContextTokens: 32_768,
  promptTokens: (w, h, prompt) => Math.ceil(w / 28) * Math.ceil(h / 28) + Math.ceil(prompt.length / 2) + 32,
  body: (p) => buildChatBody(p) as unknown as Record<string, unknown>,
  parse: (raw, w, h) => parsePlainMarkdown(raw, w, h),
};

export const PROFILES: Readonly<Record<ProfileName, ModelProfile>> = {
  'deepseek-ocr': deepseek,
  'deepseek-ocr-2': deepseek2,
  'dots-ocr': dots,
  'olmocr-2': olmocr,
  chandra,
  'nanonets-ocr2': nanonets,
  'paddleocr-vl': paddle,
  'mineru-2.5': mineru,
  plain,
};

export function profileByName(name: string): ModelProfile {
  const p = (PROFILES as Record<string, ModelProfile>)[name];
  if (!p) throw new Error(`Unknown vLLM model profile "${name}" (known: ${PROFILE_NAMES.join(', ')})`);
  return p;
}
