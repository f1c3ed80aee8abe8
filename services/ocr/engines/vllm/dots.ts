/**
 * dots.ocr / dots.mocr (rednote-hilab): one call per page, answered as a JSON list of layout cells
 * `{"bbox": [x1, y1, x2, y2], "category": "…", "text": "…"}` whose boxes are pixels of the image as
 * the model saw it, after its processor's `smart_resize` (factor 28). The parser repeats that
 * resize to map the boxes back to the page. Cut-off or broken JSON (a loop stopped at max_tokens,
 * a missing delimiter) is repaired the way the official `OutputCleaner` does: every complete cell
 * is kept, the unfinished one dropped. Pure.
 */
import type { TaskMode } from '../../../../shared/bus/index.ts';
import type { ParsedPage } from './grounding.ts';
import { END_TOKENS, pageFromElements, PARATEXT, smartResize, type Element } from './vlm-text.ts';
import { parsePlainMarkdown } from './plain.ts';

/** `prompt_layout_all_en`, verbatim from dots_ocr/utils/prompts.py. */
export const DOTS_LAYOUT_PROMPT = `Please output the layout information from the PDF image, including each layout element's bbox, its category, and the corresponding text content within the bbox.

1. Bbox format: [x1, y1, x2, y2]

2. Layout Categories: The possible categories are ['Caption', 'Footnote', 'Formula', 'List-item', 'Page-footer', 'Page-header', 'Picture', 'Section-header', 'Table', 'Text', 'Title'].

3. Text Extraction & Formatting Rules:
    - Picture: For the 'Picture' category, the text field should be omitted.
    - Formula: Format its text as LaTeX.
    - Table: Format its text as HTML.
    - All Others (Text, Title, etc.): Format their text as Markdown.

4. Constraints:
    - The output text must be the original text from the image, with no translation.
    - All layout elements must be sorted according to human reading order.

5. Final Output: The entire output must be a single JSON object.
`;

/** `prompt_ocr`: text only, no boxes (headers and footers left out by the model). */
export const DOTS_OCR_PROMPT = 'Extract the text content from this image.';

/** vLLM's placeholder for the image; without it "vllm v1 will add \n here" (dots_ocr/model/inference.py). */
export const DOTS_IMAGE_PLACEHOLDER = '<|img|><|imgpad|><|endofimg|>';

export const DOTS_PROMPTS: Readonly<Record<TaskMode, string>> = {
  markdown: DOTS_LAYOUT_PROMPT,
  ocr: DOTS_LAYOUT_PROMPT,
  free: DOTS_OCR_PROMPT,
  figure: DOTS_OCR_PROMPT,
  describe: DOTS_OCR_PROMPT,
};

const CATEGORY: Record<string, string> = {
  caption: 'caption',
  footnote: 'footnote',
  formula: 'equation',
  'list-item': 'list_item',
  'page-footer': 'footer',
  'page-header': 'header',
  picture: 'image',
  'section-header': 'sub_title',
  table: 'table',
  text: 'text',
  title: 'title',
};

interface Cell {
  bbox: number[];
  category: string;
  text?: string;
}

export interface DotsParseOptions {
  /** Size of the image that was sent (default: the page). The model saw its smart_resize. */
  sent?: { width: number; height: number };
  /** The prompt asked for plain text (`prompt_ocr`): the answer is Markdown, not JSON. */
  textOnly?: boolean;
}

/** dots.ocr's raw answer → Markdown and blocks in page pixels. */
export function parseDotsOutput(raw: string, width: number, height: number, opts: DotsParseOptions = {}): ParsedPage & { repaired: boolean } {
  const text = raw.replace(END_TOKENS, '').trim();
  if (opts.textOnly || !/^\s*(?:```(?:json)?\s*)?[[{]/.test(text)) return { ...parsePlainMarkdown(text, width, height), repaired: false };
  const { cells, repaired } = readCells(text);
  const sent = opts.sent ?? { width, height };
  const seen = smartResize(sent.height, sent.width);
  const sx = width / seen.width;
  const sy = height / seen.height;
  const elements: Element[] = [];
  for (const c of cells) {
    const type = CATEGORY[c.category.toLowerCase()] ?? 'text';
    const [x1, y1, x2, y2] = c.bbox;
    const bbox: [number, number, number, number] = [
      clamp(Math.round(Math.min(x1, x2) * sx), width),
      clamp(Math.round(Math.min(y1, y2) * sy), height),
      clamp(Math.round(Math.max(x1, x2) * sx), width),
      clamp(Math.round(Math.max(y1, y2) * sy), height),
    ];
    elements.push({ type, bbox, markdown: markdownOf(type, c.text ?? ''), paratext: PARATEXT.has(type) });
  }
  return { ...pageFromElements(elements), repaired };
}

function clamp(v: number, max: number): number {
  return Math.min(max, Math.max(0, v));
}

/** `layoutjson2md`: formulas as `$$…$$` display blocks, pictures as an image placeholder, the rest as written. */
function markdownOf(type: string, text: string): string {
  if (type === 'image') return text.trim() ? `![${text.trim()}]()` : '![]()';
  if (type === 'equation') {
    const body = text
      .trim()
      .replace(/^`+|`+$/g, '')
      .replace(/^\$\$([\s\S]*)\$\$$/, '$1')
      .replace(/^\\\[([\s\S]*)\\\]$/, '$1')
      .replace(/^\$([\s\S]*)\$$/, '$1')
      .trim();
    return body ? `$$\n${body}\n$$` : '';
  }
  // `clean_text`: inline math the model wrapped in backticks is unwrapped.
  return text.trim().replace(/`(\$[^`$]+\$)`/g, '$1');
}

/**
 * The cells of the answer. Well-formed JSON is read as is; otherwise each complete
 * `{"bbox": …}` object is read on its own (the official cleaner's approach: fix missing `},{`,
 * drop the last incomplete element), duplicates and boxes without four numbers dropped.
 */
export function readCells(text: string): { cells: Cell[]; repaired: boolean } {
  const body = text.replace(/^```(?:json)?\s*|\s*```$/g, '');
  try {
    const parsed = JSON.parse(body) as unknown;
    const list = Array.isArray(parsed) ? parsed : [parsed];
    return { cells: list.filter(isCell), repaired: false };
  } catch {
    // fall through to the repair
  }
  // Raw line breaks or tabs inside a string (a table's HTML written over lines) are the commonest
  // reason valid-looking output fails JSON.parse; escaped, the whole answer often reads.
  try {
    const parsed = JSON.parse(escapeControls(body)) as unknown;
    const list = Array.isArray(parsed) ? parsed : [parsed];
    return { cells: list.filter(isCell), repaired: true };
  } catch {
    // fall through to the cell-by-cell repair
  }
  const cells: Cell[] = [];
  const seen = new Set<string>();
  for (const chunk of objectChunks(body)) {
    let obj: unknown;
    try {
      obj = JSON.parse(escapeControls(chunk));
    } catch {
      continue;
    }
    if (!isCell(obj)) continue;
    const key = JSON.stringify(obj);
    if (seen.has(key)) continue;
    seen.add(key);
    cells.push(obj);
  }
  return { cells, repaired: true };
}

/** Every balanced top-level `{…}` in the text, strings respected; an unclosed last one is left out. */
function objectChunks(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}' && depth > 0) {
      depth--;
      if (depth === 0) out.push(s.slice(start, i + 1));
    }
    // A new cell starting while one is still open (`"text": "…" {"bbox": …`): the open one is lost.
    if (depth > 0 && !inString && s.startsWith('{"bbox"', i + 1) && ch !== '{' && depth === 1 && i > start) {
      depth = 0;
    }
  }
  return out;
}

/** Control characters inside JSON strings, escaped (outside strings they are whitespace and stay). */
function escapeControls(s: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (inString && ch === '\\') {
      out += ch + (s[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === '"') inString = !inString;
    if (inString && ch < ' ') out += ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch === '\r' ? '\\r' : '';
    else out += ch;
  }
  return out;
}

function isCell(x: unknown): x is Cell {
  const c = x as Cell;
  return (
    !!c &&
    typeof c === 'object' &&
    Array.isArray(c.bbox) &&
    c.bbox.length === 4 &&
    c.bbox.every((v) => typeof v === 'number' && Number.isFinite(v)) &&
    typeof c.category === 'string' &&
    (c.text === undefined || typeof c.text === 'string')
  );
}
