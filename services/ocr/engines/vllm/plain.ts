/**
 * The "plain Markdown" output of OCR vision models other than DeepSeek-OCR (olmOCR, dots.ocr in its
 * Markdown mode, PaddleOCR-VL, Qwen2.5-VL asked for Markdown): Markdown with HTML or pipe tables and
 * LaTeX, and no boxes. Pure. The blocks are the page's elements in reading order, typed from the
 * Markdown; since the model gives no positions, each block's box is the whole page.
 */
import type { BBox, Block } from '../../../../shared/bus/index.ts';
import { findHtmlTables, parseHtmlTable } from '../../../../shared/document/index.ts';
import { cleanLatex, collapseBlankLines, type ParsedPage } from './grounding.ts';

// End-of-turn tokens that servers leave in when special tokens are not skipped.
const SPECIAL = /<\|(?:im_end|endoftext|end_of_text|eot_id)\|>|<\/s>|<｜end▁of▁sentence｜>/g;
// Some models wrap the whole answer in a code fence.
const FENCED = /^\s*```(?:markdown|md)?[ \t]*\n([\s\S]*?)\n```\s*$/;

export function parsePlainMarkdown(raw: string, width: number, height: number): ParsedPage {
  let text = raw.replace(SPECIAL, '');
  const fenced = FENCED.exec(text);
  if (fenced) text = fenced[1];
  const markdown = collapseBlankLines(cleanLatex(text)).trim();
  const page: BBox = [0, 0, width, height];
  const blocks = splitElements(markdown).map((b, order) => ({ ...b, bbox: page, order }));
  return { markdown, blocks };
}

type Element = Omit<Block, 'bbox' | 'order'>;

/** Paragraph-level elements; an HTML table or a display formula is one element even across blank lines. */
function splitElements(md: string): Element[] {
  const out: Element[] = [];
  let cursor = 0;
  for (const t of findHtmlTables(md)) {
    out.push(...paragraphs(md.slice(cursor, t.start)));
    out.push({
      type: 'table',
      text: parseHtmlTable(t.html)
        .grid.map((r) => r.join('\t'))
        .join('\n'),
      html: t.html,
    });
    cursor = t.end;
  }
  out.push(...paragraphs(md.slice(cursor)));
  return out;
}

function paragraphs(s: string): Element[] {
  const out: Element[] = [];
  for (const p of s
    .split(/\n[ \t]*\n/)
    .map((x) => x.trim())
    .filter(Boolean)) {
    const heading = /^(#{1,6})[ \t]+(.*)$/s.exec(p);
    if (heading) out.push({ type: heading[1].length === 1 ? 'title' : 'sub_title', text: heading[2].trim() });
    else if (isPipeTable(p))
      out.push({
        type: 'table',
        text: pipeRows(p)
          .map((r) => r.join('\t'))
          .join('\n'),
      });
    else if (/^(\$\$|\\\[)[\s\S]*(\$\$|\\\])$/.test(p)) out.push({ type: 'equation', text: p });
    else if (/^!\[[^\]]*\]\([^)]*\)$/.test(p)) out.push({ type: 'image', text: p });
    else out.push({ type: 'text', text: undecorated(p.replace(/<\/?center>/gi, '')) });
  }
  return out;
}

/** Bold and italic markers off (block text is plain); math between `$` is left as written. */
function undecorated(p: string): string {
  return p.replace(/\*\*([^*\n]+?)\*\*/g, '$1').replace(/(^|[\s(])\*([^*\s$][^*$\n]*?)\*(?=[\s).,;:]|$)/g, '$1$2');
}

export function isPipeTable(p: string): boolean {
  const lines = p.split('\n');
  return lines.length >= 2 && lines.every((l) => /^\s*\|.*\|\s*$/.test(l)) && /^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$/.test(lines[1]);
}

/** Cells of a Markdown pipe table, the `---` separator row left out. */
export function pipeRows(p: string): string[][] {
  return p
    .split('\n')
    .filter((l, i) => !(i === 1 && /^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$/.test(l)))
    .map((l) =>
      l
        .trim()
        .replace(/^\||\|$/g, '')
        .split(/(?<!\\)\|/)
        .map((c) => c.replace(/\\\|/g, '|').trim()),
    );
}
