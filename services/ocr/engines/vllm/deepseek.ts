/**
 * DeepSeek-OCR's wire protocol over vLLM's OpenAI API: the prompts, the request body and the parser
 * of the model's grounded output. Pure: no I/O, so the tests can pin the protocol down exactly.
 * The facts come from docs/deepseek-ocr.md (the official DeepSeek-OCR-vllm scripts).
 */
import type { BBox, Block, TaskMode } from '../../../../shared/messages.ts';

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

export const KNOWN_LABELS = [
  'title',
  'sub_title',
  'text',
  'table',
  'table_caption',
  'table_footnote',
  'image',
  'image_caption',
  'equation',
] as const;
const known = new Set<string>(KNOWN_LABELS);

export interface ParseOptions {
  /** Page number used in image links `images/<page>_<k>.jpg` (the official script uses its page index). */
  page?: number;
}

export interface ParsedPage {
  markdown: string;
  blocks: Block[];
}

// Grounded element header. The official regex has no DOTALL; we tolerate whitespace between the tags.
const ELEMENT = /<\|ref\|>([\s\S]*?)<\|\/ref\|>\s*<\|det\|>([\s\S]*?)<\|\/det\|>/g;
const BOX = /\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\]/g;
// With skip_special_tokens=false a server may leave the end-of-sentence token in the text.
const EOS = /<｜end▁of▁sentence｜>/g;

/**
 * Turns the model's raw page text into Markdown plus layout blocks in page pixels.
 * Markdown follows the official clean-up: image elements become `![](images/<page>_<k>.jpg)`,
 * every other ref/det tag is deleted, `\coloneqq`/`\eqqcolon` are rewritten, blank-line runs collapse.
 */
export function parseDeepSeekOutput(raw: string, width: number, height: number, opts: ParseOptions = {}): ParsedPage {
  const page = opts.page ?? 1;
  const text = raw.replace(EOS, '');
  const blocks: Block[] = [];
  let markdown = '';
  let cursor = 0;
  let imageIndex = 0;
  let pending: { type: string; bbox: BBox | null; image?: string } | null = null;

  const flush = (content: string) => {
    if (!pending) return;
    if (pending.bbox) {
      const body = pending.type === 'image' ? pending.image! : plainText(pending.type, collapseBlankLines(cleanLatex(content.trim())));
      blocks.push({ type: pending.type, bbox: pending.bbox, text: body });
    }
    pending = null;
  };

  for (const m of text.matchAll(ELEMENT)) {
    const between = text.slice(cursor, m.index);
    markdown += between;
    flush(between);
    const label = m[1].trim();
    const type = known.has(label) ? label : 'text';
    const bbox = toPixels(m[2], width, height);
    if (type === 'image') {
      // Every image element gets a link, boxed or not, so the numbering matches the official script.
      const link = `![](images/${page}_${imageIndex++}.jpg)`;
      markdown += `${link}\n`;
      pending = { type, bbox, image: link };
    } else {
      pending = { type, bbox };
    }
    cursor = m.index + m[0].length;
  }
  const tail = text.slice(cursor);
  markdown += tail;
  flush(tail);

  return { markdown: collapseBlankLines(cleanLatex(markdown)).trim(), blocks };
}

/** Several boxes for one element are merged into their union: a Block has one box. */
function toPixels(det: string, width: number, height: number): BBox | null {
  let box: BBox | null = null;
  for (const b of det.matchAll(BOX)) {
    const [x1, y1, x2, y2] = [b[1], b[2], b[3], b[4]].map(Number);
    const px: BBox = [scale(Math.min(x1, x2), width), scale(Math.min(y1, y2), height), scale(Math.max(x1, x2), width), scale(Math.max(y1, y2), height)];
    box = box ? [Math.min(box[0], px[0]), Math.min(box[1], px[1]), Math.max(box[2], px[2]), Math.max(box[3], px[3])] : px;
  }
  return box;
}

/** Coordinates are 0–999 bins of the image that was sent. */
function scale(v: number, size: number): number {
  const clamped = Math.min(999, Math.max(0, v));
  return Math.round((clamped / 999) * size);
}

function cleanLatex(s: string): string {
  return s.replaceAll('\\coloneqq', ':=').replaceAll('\\eqqcolon', '=:');
}

function collapseBlankLines(s: string): string {
  // Whitespace-only lines count as blank, so "\n  \n\n" collapses too.
  return s.replace(/\n[ \t]*(?:\n[ \t]*){2,}/g, '\n\n');
}

/**
 * A block's text is the element's content without Markdown/HTML decoration, for search and layout
 * consumers; the Markdown keeps the decorated form. Tables: cells joined by tabs, rows by newlines.
 */
function plainText(type: string, content: string): string {
  if (type === 'table' || /<table[\s>]/i.test(content)) return tableText(content);
  let s = content;
  if (type === 'title' || type === 'sub_title') s = s.replace(/^#{1,6}[ \t]+/gm, '');
  s = s.replace(/<\/?center>/gi, '');
  return s.trim();
}

function tableText(html: string): string {
  const rows = [...html.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/gi)].map((r) =>
    [...r[1].matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/gi)].map((c) => decodeEntities(c[1].replace(/<[^>]+>/g, '')).trim()).join('\t'),
  );
  return rows.length > 0 ? rows.join('\n') : decodeEntities(html.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();
}

function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: ' ' })[e]!);
}
