/**
 * Chandra / Chandra 2 (datalab-to): one call per page, answered as HTML layout blocks
 * `<div data-bbox="x0 y0 x1 y1" data-label="Text">…</div>` with boxes on a 0–1024 grid of the
 * image (`BBOX_SCALE`; the prompt tells the model the scale, so parser and prompt share it).
 * Math is `<math>` (display for blocks), tables are HTML (kept as HTML, as chandra's own Markdown
 * does), headers/footers are labelled. The block HTML becomes Markdown the way chandra/output.py's
 * markdownify does in substance. Pure.
 */
import type { TaskMode } from '../../../../shared/bus/index.ts';
import { decodeEntities } from '../../../../shared/document/index.ts';
import type { ParsedPage } from './grounding.ts';
import { END_TOKENS, pageFromElements, PARATEXT, scaleBox, type Element } from './vlm-text.ts';

export const CHANDRA_BBOX_SCALE = 1024;

const ALLOWED_TAGS = [
  'math',
  'br',
  'i',
  'b',
  'u',
  'del',
  'sup',
  'sub',
  'table',
  'tr',
  'td',
  'p',
  'th',
  'div',
  'pre',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'ul',
  'ol',
  'li',
  'input',
  'a',
  'span',
  'img',
  'hr',
  'tbody',
  'small',
  'caption',
  'strong',
  'thead',
  'big',
  'code',
];
const ALLOWED_ATTRIBUTES = ['class', 'colspan', 'rowspan', 'display', 'checked', 'type', 'border', 'value', 'style', 'href', 'alt', 'align'];
const pyList = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

/** chandra/prompts.py PROMPT_ENDING (the Python list reprs included). */
const PROMPT_ENDING = `Only use these tags ${pyList(ALLOWED_TAGS)}, and these attributes ${pyList(ALLOWED_ATTRIBUTES)}.

Guidelines:
* Inline math: Surround math with <math>...</math> tags. Math expressions should be rendered in KaTeX-compatible LaTeX. Use display for block math.
* Tables: Use colspan and rowspan attributes to match table structure.
* Formatting: Maintain consistent formatting with the image, including spacing, indentation, subscripts/superscripts, and special characters.
* Images: Include a description of any images in the alt attribute of an <img> tag. Do not fill out the src property.
* Forms: Mark checkboxes and radio buttons properly.
* Text: join lines together properly into paragraphs using <p>...</p> tags.  Use <br> tags for line breaks within paragraphs, but only when absolutely necessary to maintain meaning.
* Use the simplest possible HTML structure that accurately represents the content of the block.
* Make sure the text is accurate and easy for a human to read and interpret.  Reading order should be correct and natural.`;

const LABELS = [
  'Caption',
  'Footnote',
  'Equation-Block',
  'List-Group',
  'Page-Header',
  'Page-Footer',
  'Image',
  'Section-Header',
  'Table',
  'Text',
  'Complex-Block',
  'Code-Block',
  'Form',
  'Table-Of-Contents',
  'Figure',
];

export const CHANDRA_LAYOUT_PROMPT = `OCR this image to HTML, arranged as layout blocks.  Each layout block should be a div with the data-bbox attribute representing the bounding box of the block in [x0, y0, x1, y1] format.  Bboxes are normalized 0-${CHANDRA_BBOX_SCALE}. The data-label attribute is the label for the block.

Use the following labels:
${LABELS.map((l) => `- ${l}`).join('\n')}

${PROMPT_ENDING}`;

export const CHANDRA_OCR_PROMPT = `OCR this image to HTML.\n\n${PROMPT_ENDING}`;

export const CHANDRA_PROMPTS: Readonly<Record<TaskMode, string>> = {
  markdown: CHANDRA_LAYOUT_PROMPT,
  ocr: CHANDRA_LAYOUT_PROMPT,
  free: CHANDRA_OCR_PROMPT,
  figure: CHANDRA_OCR_PROMPT,
  describe: CHANDRA_OCR_PROMPT,
};

const LABEL_TYPE: Record<string, string> = {
  caption: 'caption',
  footnote: 'footnote',
  'equation-block': 'equation',
  'list-group': 'list_item',
  'page-header': 'header',
  'page-footer': 'footer',
  image: 'image',
  figure: 'image',
  diagram: 'image',
  'section-header': 'sub_title',
  title: 'title',
  table: 'table',
  'table-of-contents': 'table',
  form: 'text',
  text: 'text',
  'complex-block': 'text',
  'code-block': 'code',
  bibliography: 'text',
  'chemical-block': 'equation',
};

export interface ChandraParseOptions {
  /** The grid the boxes are on (default 1024, the scale the prompt names). */
  bboxScale?: number;
}

/** Chandra's raw page HTML → Markdown and blocks in page pixels. */
export function parseChandraOutput(raw: string, width: number, height: number, opts: ChandraParseOptions = {}): ParsedPage {
  const scale = opts.bboxScale ?? CHANDRA_BBOX_SCALE;
  const html = raw.replace(END_TOKENS, '');
  const divs = topLevelDivs(html);
  // "OCR this image to HTML." (no layout): the whole answer is one block over the page.
  if (divs.length === 0) {
    const md = htmlToMarkdown(html);
    return pageFromElements(md ? [{ type: 'text', bbox: [0, 0, width, height], markdown: md }] : []);
  }
  const elements: Element[] = divs.map((d) => {
    const label = /data-label\s*=\s*["']?([^"'>]*)/i.exec(d.attrs)?.[1]?.trim() ?? 'Text';
    let type = LABEL_TYPE[label.toLowerCase()] ?? 'text';
    if (type === 'sub_title' && /^\s*<h1\b/i.test(d.inner)) type = 'title';
    if (type === 'table' && !/<table\b/i.test(d.inner)) type = 'text';
    const box = readBox(/data-bbox\s*=\s*["']([^"']*)["']/i.exec(d.attrs)?.[1] ?? '');
    const bbox = box ? scaleBox(box, scale, width, height) : ([0, 0, width, height] as [number, number, number, number]);
    return { type, bbox, markdown: blockMarkdown(type, d.inner), paratext: PARATEXT.has(type) };
  });
  return pageFromElements(elements);
}

/** `json.loads` of a list or numbers split on spaces/commas (both shapes occur); null when not four numbers. */
function readBox(s: string): number[] | null {
  const nums = s
    .replace(/[[\]]/g, ' ')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  return nums.length === 4 && nums.every(Number.isFinite) ? nums : null;
}

interface Div {
  attrs: string;
  inner: string;
}

/** The top-level `<div …>` blocks; nested divs stay inside; an unclosed last one runs to the end (a cut answer). */
function topLevelDivs(html: string): Div[] {
  const out: Div[] = [];
  const TAG = /<(\/?)div\b([^>]*)>/gi;
  let depth = 0;
  let open: { attrs: string; start: number } | undefined;
  for (const m of html.matchAll(TAG)) {
    if (m[1] === '') {
      if (depth === 0) open = { attrs: m[2], start: m.index + m[0].length };
      depth++;
    } else if (depth > 0) {
      depth--;
      if (depth === 0 && open) {
        out.push({ attrs: open.attrs, inner: html.slice(open.start, m.index) });
        open = undefined;
      }
    }
  }
  if (open) out.push({ attrs: open.attrs, inner: html.slice(open.start) });
  return out;
}

function blockMarkdown(type: string, inner: string): string {
  if (type === 'image') {
    const alt = /<img\b[^>]*\balt\s*=\s*["']([^"']*)["']/i.exec(inner)?.[1];
    const caption = htmlToMarkdown(inner.replace(/<img\b[^>]*>/gi, ''));
    return [`![${decodeEntities(alt ?? '')}]()`, caption].filter(Boolean).join('\n\n');
  }
  if (type === 'table') {
    // Tables stay HTML (chandra's convert_table); math inside cells becomes $…$.
    return inner.trim().replace(/<math\b([^>]*)>([\s\S]*?)<\/math>/gi, (_, a: string, m: string) => mathMd(a, m));
  }
  return htmlToMarkdown(inner);
}

function mathMd(attrs: string, body: string): string {
  const tex = decodeEntities(body).trim();
  return /display\s*=\s*["']?block/i.test(attrs) ? `$$${tex}$$` : `$${tex}$`;
}

/** The block HTML Chandra writes → Markdown (ATX headings, `-` bullets, `**`/`*`, `$`/`$$` math). */
export function htmlToMarkdown(html: string): string {
  let s = html;
  s = s.replace(/<math\b([^>]*)>([\s\S]*?)(?:<\/math>|$)/gi, (_, a: string, m: string) => mathMd(a, m).replace(/</g, '\u0000lt;').replace(/>/g, '\u0000gt;'));
  s = s.replace(/<h([1-6])\b[^>]*>([\s\S]*?)<\/h\1>/gi, (_, n: string, t: string) => `\n\n${'#'.repeat(Number(n))} ${t.trim()}\n\n`);
  s = s.replace(/<(b|strong)\b[^>]*>([\s\S]*?)<\/\1>/gi, (_, _t: string, t: string) => (t.trim() ? `**${t.trim()}**` : ''));
  s = s.replace(/<(i|em)\b[^>]*>([\s\S]*?)<\/\1>/gi, (_, _t: string, t: string) => (t.trim() ? `*${t.trim()}*` : ''));
  s = s.replace(/<a\b[^>]*?href\s*=\s*["']([^"']*)["'][^>]*>([\s\S]*?)<\/a>/gi, (_, href: string, t: string) =>
    t.trim() === href || !href ? t : `[${t}](${href})`,
  );
  s = s.replace(/<input\b[^>]*>/gi, (tag) => (/\bchecked\b/i.test(tag) ? '☑ ' : '☐ '));
  s = s.replace(/<img\b[^>]*\balt\s*=\s*["']([^"']*)["'][^>]*>/gi, (_, alt: string) => `![${alt}]()`);
  s = s.replace(/<li\b[^>]*>/gi, '\n- ').replace(/<\/li>/gi, '');
  s = s.replace(/<br\s*\/?>/gi, '\n');
  s = s.replace(/<\/(p|ul|ol|pre|caption)>/gi, '\n\n').replace(/<(p|ul|ol|pre|caption)\b[^>]*>/gi, '\n\n');
  s = s.replace(/<\/?(?:div|span|u|small|big|code|sup|sub|del|hr|tbody|thead)\b[^>]*>/gi, '');
  s = decodeEntities(s)
    .replace(/\u0000lt;/g, '<')
    .replace(/\u0000gt;/g, '>')
    .replace(/([☑☐]) {2,}/g, '$1 ');
  return s
    .split('\n')
    .map((l) => l.replace(/[ \t]+$/g, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
