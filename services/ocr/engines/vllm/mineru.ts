/**
 * MinerU2.5 (opendatalab; client code in mineru-vl-utils): two stages per page.
 * 1. Layout: the page resized to 1036×1036 (aspect not kept) with `\nLayout Detection:`; the answer
 *    is `<|box_start|>x1 y1 x2 y2<|box_end|><|ref_start|>type<|ref_end|>` (+ a rotation token) per
 *    block, boxes on a 0–1000 grid of the page.
 * 2. Content: one call per block on a crop of the full-resolution page, the prompt by type (tables
 *    answer OTSL, converted to HTML; equations LaTeX; the rest text).
 * Pure: the engine does the calls and the cropping; these functions only read and assemble.
 */
import type { BBox } from '../../../../shared/bus/index.ts';
import type { ParsedPage } from './grounding.ts';
import { END_TOKENS, looksLikeOtsl, otslToHtml, pageFromElements, type Element } from './vlm-text.ts';

export const MINERU_LAYOUT_SIZE = 1036;
export const MINERU_SYSTEM = 'You are a helpful assistant.';
export const MINERU_PROMPTS = {
  layout: '\nLayout Detection:',
  table: '\nTable Recognition:',
  equation: '\nFormula Recognition:',
  text: '\nText Recognition:',
} as const;

/** Block types of mineru_vl_utils/structs.py; anything else in a layout answer is skipped, as officially. */
const BLOCK_TYPES = new Set([
  'text',
  'title',
  'doc_title',
  'paragraph_title',
  'table',
  'equation',
  'formula_number',
  'code',
  'algorithm',
  'aside_text',
  'ref_text',
  'index',
  'phonetic',
  'list_item',
  'caption',
  'table_caption',
  'image_caption',
  'code_caption',
  'footnote',
  'table_footnote',
  'image_footnote',
  'header',
  'footer',
  'page_number',
  'page_footnote',
  'image',
  'chart',
  'list',
  'image_block',
  'equation_block',
  'unknown',
  'inline_formula',
]);

/** Folio's type for each MinerU type. */
const FOLIO_TYPE: Record<string, string> = {
  title: 'title',
  doc_title: 'title',
  paragraph_title: 'sub_title',
  table_caption: 'table_caption',
  table_footnote: 'table_footnote',
  image_caption: 'image_caption',
  image_footnote: 'image_caption',
  code_caption: 'caption',
  caption: 'caption',
  equation: 'equation',
  equation_block: 'equation',
  code: 'code',
  algorithm: 'code',
  list_item: 'list_item',
  list: 'list_item',
  footnote: 'footnote',
  page_footnote: 'footnote',
  header: 'header',
  footer: 'footer',
  page_number: 'page_number',
  aside_text: 'aside_text',
  image: 'image',
  image_block: 'image',
  chart: 'image',
  table: 'table',
};
const PARATEXT = new Set(['header', 'footer', 'page_number', 'aside_text']);

const LAYOUT_RE = /<\|box_start\|>\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*<\|box_end\|>\s*<\|ref_start\|>(\w+?)<\|ref_end\|>([\s\S]*?)(?=<\|box_start\|>|$)/g;
const ANGLES: Array<[string, 0 | 90 | 180 | 270]> = [
  ['<|rotate_up|>', 0],
  ['<|rotate_right|>', 90],
  ['<|rotate_down|>', 180],
  ['<|rotate_left|>', 270],
];

export interface LayoutBlock {
  /** MinerU's type (lower case). */
  type: string;
  /** Page pixels. */
  bbox: BBox;
  angle: 0 | 90 | 180 | 270;
  /** The content prompt for this block, or null when the block gets no call (images, lists, …). */
  prompt: string | null;
}

/**
 * The layout answer → blocks in page pixels (`_convert_bbox`, `parse_layout_output`): coordinates
 * outside 0–1000 or a zero-area box drop the block, swapped corners are fixed, `unknown` is an
 * image, `inline_formula` is skipped, an unknown type is skipped. A cut-off last entry (no type yet)
 * is not matched at all.
 */
export function parseMinerULayout(raw: string, width: number, height: number): LayoutBlock[] {
  const out: LayoutBlock[] = [];
  for (const m of raw.replace(END_TOKENS, '').matchAll(LAYOUT_RE)) {
    const coords = [m[1], m[2], m[3], m[4]].map(Number);
    if (coords.some((c) => c < 0 || c > 1000)) continue;
    let [x1, y1, x2, y2] = coords;
    if (x2 < x1) [x1, x2] = [x2, x1];
    if (y2 < y1) [y1, y2] = [y2, y1];
    if (x1 === x2 || y1 === y2) continue;
    let type = m[5].toLowerCase();
    if (!BLOCK_TYPES.has(type) || type === 'inline_formula') continue;
    if (type === 'unknown') type = 'image';
    const angle = ANGLES.find(([t]) => m[6].includes(t))?.[1] ?? 0;
    const bbox: BBox = [Math.round((x1 / 1000) * width), Math.round((y1 / 1000) * height), Math.round((x2 / 1000) * width), Math.round((y2 / 1000) * height)];
    out.push({ type, bbox, angle, prompt: promptFor(type) });
  }
  return withoutTableInsides(out);
}

/** `prepare_for_extract`: images, charts, lists and composite blocks get no content call (image analysis off). */
function promptFor(type: string): string | null {
  if (type === 'image' || type === 'chart' || type === 'list' || type === 'equation_block' || type === 'image_block') return null;
  if (type === 'table') return MINERU_PROMPTS.table;
  if (type === 'equation') return MINERU_PROMPTS.equation;
  return MINERU_PROMPTS.text;
}

/** Text and equation boxes inside a table are the table's cells, not blocks (`_filter_table_internal_layout_blocks`). */
function withoutTableInsides(blocks: LayoutBlock[]): LayoutBlock[] {
  const tables = blocks.filter((b) => b.type === 'table').map((b) => b.bbox);
  return blocks.filter((b) => {
    if (b.type === 'table' || (b.type !== 'text' && b.type !== 'equation')) return true;
    return !tables.some((t) => inside(b.bbox, t) >= 0.9);
  });
}

function inside(inner: BBox, outer: BBox): number {
  const w = Math.min(inner[2], outer[2]) - Math.max(inner[0], outer[0]);
  const h = Math.min(inner[3], outer[3]) - Math.max(inner[1], outer[1]);
  const area = (inner[2] - inner[0]) * (inner[3] - inner[1]);
  return w > 0 && h > 0 && area > 0 ? (w * h) / area : 0;
}

/**
 * Blocks + their content answers (null where no call was made) → the page. Tables: OTSL → HTML;
 * equations: delimiters stripped, `$$…$$`; text: as answered, `[Non-Text]` placeholders dropped.
 */
export function assembleMinerU(blocks: LayoutBlock[], contents: Array<string | null>): ParsedPage {
  const elements: Element[] = [];
  for (const [i, b] of blocks.entries()) {
    const type = FOLIO_TYPE[b.type] ?? 'text';
    const raw = (contents[i] ?? '').replace(END_TOKENS, '').trim();
    let markdown: string;
    if (type === 'image') markdown = '![]()';
    else if (b.type === 'table') markdown = looksLikeOtsl(raw) ? otslToHtml(raw) : raw;
    else if (type === 'equation') markdown = raw ? `$$\n${stripMath(raw)}\n$$` : '';
    else if (type === 'title') markdown = raw ? `# ${raw.replace(/^#+\s*/, '')}` : '';
    else if (type === 'sub_title') markdown = raw ? `## ${raw.replace(/^#+\s*/, '')}` : '';
    else markdown = raw.replace(/\[Non-Text\]/g, '').trim();
    elements.push({ type, bbox: b.bbox, markdown, paratext: PARATEXT.has(type) });
  }
  return pageFromElements(elements);
}

function stripMath(s: string): string {
  return s
    .replace(/^\$\$([\s\S]*)\$\$$/, '$1')
    .replace(/^\\\[([\s\S]*)\\\]$/, '$1')
    .replace(/^\$([\s\S]*)\$$/, '$1')
    .trim()
    .replaceAll('\\eqqcolon', '=:')
    .replaceAll('\\coloneqq', ':=');
}

/** Body extras of every MinerU call: special tokens kept, the n-gram guard of MinerULogitsProcessor, the type's penalties. */
export function mineruSampling(prompt: string): Record<string, unknown> {
  const penalties =
    prompt === MINERU_PROMPTS.layout
      ? { presence_penalty: 0, frequency_penalty: 0 }
      : prompt === MINERU_PROMPTS.table
        ? { presence_penalty: 1.0, frequency_penalty: 0.005 }
        : { presence_penalty: 1.0, frequency_penalty: 0.05 };
  return {
    temperature: 0,
    top_p: 0.01,
    top_k: 1,
    repetition_penalty: 1.0,
    ...penalties,
    skip_special_tokens: false,
    vllm_xargs: { no_repeat_ngram_size: 100, debug: false },
  };
}
