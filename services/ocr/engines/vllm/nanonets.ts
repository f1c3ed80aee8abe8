/**
 * Nanonets-OCR2 (Qwen2.5-VL fine-tune): one call per page with a system message, Markdown with
 * HTML tables, `$`/`$$` LaTeX, and tags of its own: `<page_number>`, `<watermark>`, `<signature>`,
 * `<img>description</img>`, checkboxes ☐ ☑. Page numbers and watermarks become typed blocks and
 * leave the Markdown (the olmOCR bench runner strips page numbers too). No boxes. Pure.
 */
import type { Block, TaskMode } from '../../../../shared/bus/index.ts';
import type { ParsedPage } from './grounding.ts';
import { parsePlainMarkdown } from './plain.ts';
import { collapseBlankLines } from './grounding.ts';

/** The prompt of the official cookbook, as olmOCR's run_nanonetsocr_2.py sends it. */
export const NANONETS_PROMPT =
  'Extract the text from the above document as if you were reading it naturally. Return the tables in html format. Return the equations in LaTeX representation. If there is an image in the document and image caption is not present, add a small description of the image inside the <img></img> tag; otherwise, add the image caption inside <img></img>. Watermarks should be wrapped in brackets. Ex: <watermark>OFFICIAL COPY</watermark>. Page numbers should be wrapped in brackets. Ex: <page_number>14</page_number> or <page_number>9/22</page_number>. Prefer using ☐ and ☑ for check boxes.';

export const NANONETS_SYSTEM = 'You are a helpful assistant.';

export const NANONETS_PROMPTS: Readonly<Record<TaskMode, string>> = {
  markdown: NANONETS_PROMPT,
  ocr: NANONETS_PROMPT,
  free: NANONETS_PROMPT,
  figure: NANONETS_PROMPT,
  describe: NANONETS_PROMPT,
};

/** The cookbook renders pages so the shortest side is 1280 px. */
export const NANONETS_SHORTEST_SIDE = 1280;

const TAGGED = /<(page_number|watermark)>([\s\S]*?)(?:<\/\1>|$)/g;

/**
 * A paragraph that carries a `<page_number>` beside other text is the running header (first
 * paragraph) or footer (last): the real model writes "Journal | doi … <page_number>20 / 32</page_number>".
 * It becomes a typed block, out of the Markdown, like the page number itself.
 */
export function parseNanonetsOutput(raw: string, width: number, height: number): ParsedPage {
  const page: Block['bbox'] = [0, 0, width, height];
  const extra: Block[] = [];
  const paragraphs = raw.replace(/\r\n/g, '\n').split(/\n[ \t]*\n/);
  const kept: string[] = [];
  for (const [i, p] of paragraphs.entries()) {
    let para = p.replace(TAGGED, (_, tag: string, body: string) => {
      extra.push({ type: tag, bbox: page, text: body.trim() });
      return '';
    });
    const hadNumber = para !== p && /<page_number>/.test(p);
    if (hadNumber && para.trim() !== '' && (i === 0 || i === paragraphs.length - 1)) {
      extra.push({ type: i === 0 ? 'header' : 'footer', bbox: page, text: para.trim() });
      para = '';
    }
    kept.push(para);
  }
  // <img>description</img> → a Markdown image whose alt is the description (an image block below).
  let text = kept
    .join('\n\n')
    .replace(/<img>([\s\S]*?)(?:<\/img>|$)/g, (_, d: string) => `\n\n![${d.trim().replace(/\n+/g, ' ').replace(/[[\]]/g, '')}]()\n\n`);
  text = text.replace(/<\/?signature>/g, '');
  const parsed = parsePlainMarkdown(collapseBlankLines(text.replace(/[ \t]+\n/g, '\n')), width, height);
  const blocks = [...extra.filter((b) => b.type === 'header'), ...parsed.blocks, ...extra.filter((b) => b.type !== 'header')].map((b, order) => ({
    ...b,
    order,
  }));
  return { markdown: parsed.markdown, blocks };
}
