/**
 * DeepSeek-OCR's wire protocol over vLLM's OpenAI API: the prompts, the request body and the parser
 * of the model's grounded output. Pure: no I/O, so the tests can pin the protocol down exactly.
 * The facts come from docs/deepseek-ocr.md (the official DeepSeek-OCR-vllm scripts).
 */
import type { TaskMode } from '../../../../shared/bus/index.ts';
import { parseGroundedOutput, type ParsedPage } from './grounding.ts';

/** The text part after vLLM's implicit `<image>\n`; never put `<image>` in it. */
export const TASK_PROMPTS: Readonly<Record<TaskMode, string>> = {
  markdown: '<|grounding|>Convert the document to markdown.',
  ocr: '<|grounding|>OCR this image.',
  free: 'Free OCR.',
  figure: 'Parse the figure.',
  describe: 'Describe this image in detail.',
};

/** The cheaper prompt to retry a truncated page with (no layout boxes, shorter output). */
export const FALLBACK_PROMPT = TASK_PROMPTS.free;

/** The separator the official script puts between pages (kept for parity). */
export const DEEPSEEK_PAGE_SPLIT = '<--- Page Split --->';

/** DeepSeek-OCR's context length; vLLM answers 400 (it does not clamp) when prompt + max_tokens exceed it. */
export const CONTEXT_TOKENS = 8192;

/**
 * Vision tokens of a page in Gundam mode (the mode upstream vLLM fixes): a 1024² global view
 * (16×16 + a newline per row + a separator) plus 640² tiles (10×10 each) on the grid of at most 9
 * tiles whose aspect ratio is closest to the page's. A portrait A4/Letter page is tiled 2×3: 903 by
 * this count; vLLM's own count has been seen up to 933 (a newline per tile row as well), so the
 * estimate adds one token per tile row to stay on the safe side.
 */
export function imageTokens(width: number, height: number): number {
  const global = 16 * 17 + 1;
  if (width <= 640 && height <= 640) return global;
  const [cols, rows] = tileGrid(width, height);
  return global + rows * 10 * (cols * 10 + 2);
}

function tileGrid(width: number, height: number): [number, number] {
  const ratio = width / height;
  let best: [number, number] = [1, 1];
  let bestDiff = Infinity;
  for (let n = 2; n <= 9; n++) {
    for (let i = 1; i <= n; i++) {
      if (n % i !== 0) continue;
      const j = n / i;
      const diff = Math.abs(ratio - i / j);
      if (diff < bestDiff || (diff === bestDiff && width * height > 0.5 * 640 * 640 * i * j)) {
        bestDiff = diff;
        best = [i, j];
      }
    }
  }
  return best;
}

/** The chat template's own tokens around the text (BOS, role markers) plus margin. */
const TEMPLATE_TOKENS = 16;

/** Prompt tokens of one page: vision tokens + the text (≤ 1 token per 2 characters) + the template. */
export function promptTokens(width: number, height: number, prompt: string): number {
  return imageTokens(width, height) + Math.ceil(prompt.length / 2) + TEMPLATE_TOKENS;
}

/**
 * What a document page's prompt can cost: a portrait page's 903–933 vision tokens (933 counted
 * here) plus the longest task text and the template. The start-up guard checks max_tokens against
 * it; pages of other shapes (a square page tiles 3×3, ≈ 1,200 tokens) get max_tokens lowered per
 * request so prompt + max_tokens always fits the context.
 */
export const PAGE_PROMPT_TOKENS = promptTokens(1414, 2000, '<|grounding|>Convert the document to markdown.');

/** Ids of `<td>` and `</td>`: they repeat legitimately, so the n-gram repetition guard must ignore them. */
export const TD_TOKEN_IDS: readonly number[] = [128821, 128822];

export interface ChatBody {
  model: string;
  messages: [
    {
      role: 'user';
      content: [{ type: 'image_url'; image_url: { url: string } }, { type: 'text'; text: string }];
    },
  ];
  temperature: 0;
  max_tokens: number;
}

export interface DeepSeekRequestBody extends ChatBody {
  /** Keeps grounding tags and table tokens in the text. */
  skip_special_tokens: false;
  /** Arguments of vLLM's NGramPerReqLogitsProcessor (the anti-repetition guard). */
  vllm_xargs: { ngram_size: number; window_size: number; whitelist_token_ids: number[] };
}

export interface RequestParams {
  model: string;
  /** PNG bytes of the page. */
  image: Buffer;
  prompt: string;
  maxTokens: number;
}

/** One page = one chat completion: a single user message [image, text], greedy; what every vision model served by vLLM takes. */
export function buildChatBody(p: RequestParams): ChatBody {
  return {
    model: p.model,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: `data:image/png;base64,${p.image.toString('base64')}` } },
          { type: 'text', text: p.prompt },
        ],
      },
    ],
    temperature: 0,
    max_tokens: p.maxTokens,
  };
}

/** DeepSeek-OCR's request: no system message (it hurts quality), its special tokens kept, its n-gram loop guard. */
export function buildRequestBody(p: RequestParams): DeepSeekRequestBody {
  return {
    ...buildChatBody(p),
    skip_special_tokens: false,
    vllm_xargs: { ngram_size: 30, window_size: 90, whitelist_token_ids: [...TD_TOKEN_IDS] },
  };
}

export { KNOWN_LABELS, type ParsedPage } from './grounding.ts';

export interface ParseOptions {
  /** Page number used in image links `images/<page>_<k>.jpg` (the official script uses its page index). */
  page?: number;
  /** The task the page was asked with: "ocr" puts the text inside the refs. */
  task?: TaskMode;
}

/** DeepSeek-OCR's raw page text → Markdown and blocks in page pixels (grounding.ts has the details). */
export function parseDeepSeekOutput(raw: string, width: number, height: number, opts: ParseOptions = {}): ParsedPage {
  return parseGroundedOutput(raw, width, height, { page: opts.page, refIsText: opts.task === 'ocr' });
}
