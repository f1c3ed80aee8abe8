/**
 * DeepSeek-OCR's wire protocol over vLLM's OpenAI API: the prompts, the request body and the parser
 * of the model's grounded output. Pure: no I/O, so the tests can pin the protocol down exactly.
 * The facts come from docs/deepseek-ocr.md (the official DeepSeek-OCR-vllm scripts).
 */
import type { TaskMode } from '../../../../shared/messages.ts';
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
/** A page prompt is about 900 tokens (2×3 tiles + global view + text). */
export const PAGE_PROMPT_TOKENS = 900;

/** Ids of `<td>` and `</td>`: they repeat legitimately, so the n-gram repetition guard must ignore them. */
export const TD_TOKEN_IDS: readonly number[] = [128821, 128822];

export interface DeepSeekRequestBody {
  model: string;
  messages: [
    {
      role: 'user';
      content: [{ type: 'image_url'; image_url: { url: string } }, { type: 'text'; text: string }];
    },
  ];
  temperature: 0;
  max_tokens: number;
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

/** One page = one chat completion: a single user message [image, text]; no system message (it hurts quality). */
export function buildRequestBody(p: RequestParams): DeepSeekRequestBody {
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
