// Page furniture across the pages of a document: a short line at the top or bottom of several
// pages, the same but for its numbers, is a running header or footer even where one page alone
// did not show it (services/ocr/layout-furniture.ts judges single pages). Then the Markdown,
// unless the job keeps furniture, is written without it.
import type { Block, PageResult } from '../../shared/bus/index.ts';
import { isFurniture, isPageNumber } from '../../shared/document/index.ts';

/** How far from the top or bottom edge (share of the page height) a running line may sit. */
const BAND = 0.12;
/** Blocks at each end of a page's reading order that may be furniture. */
const ENDS = 3;
// Titles and headings repeated on every page (a form's name) are content; running heads are set as text.
const CONTENT = new Set(['text']);

/** Digits do not count (page numbers, dates of issue); case and spacing neither. */
const keyOf = (text: string) => text.toLowerCase().replace(/\d+/g, '#').replace(/\s+/g, ' ').trim();

type Where = 'top' | 'bottom';

function candidates(r: PageResult): Array<{ i: number; where: Where; key: string }> {
  const out: Array<{ i: number; where: Where; key: string }> = [];
  const n = r.blocks.length;
  r.blocks.forEach((b, i) => {
    if (!CONTENT.has(b.type) || b.text.length > 200 || (i >= ENDS && i < n - ENDS)) return;
    const where: Where | null = b.bbox[3] <= BAND * r.height ? 'top' : b.bbox[1] >= (1 - BAND) * r.height ? 'bottom' : null;
    if (where) out.push({ i, where, key: `${where}|${keyOf(b.text)}` });
  });
  return out;
}

/**
 * Retypes as furniture the blocks that repeat, at the same end, on at least two pages (a page
 * number counts as repeating wherever page numbers do). Returns new block arrays by page.
 */
export function markRunningFurniture(results: Map<number, PageResult>): Map<number, Block[]> {
  const found = new Map<number, ReturnType<typeof candidates>>();
  const pagesWith = new Map<string, Set<number>>();
  for (const [page, r] of results) {
    const cs = candidates(r);
    found.set(page, cs);
    for (const c of cs) (pagesWith.get(c.key) ?? pagesWith.set(c.key, new Set()).get(c.key)!).add(page);
  }
  const out = new Map<number, Block[]>();
  for (const [page, r] of results) {
    const blocks = r.blocks.map((b) => ({ ...b }));
    for (const c of found.get(page)!) {
      if ((pagesWith.get(c.key)?.size ?? 0) < 2) continue;
      const b = blocks[c.i];
      b.type = isPageNumber(b.text) ? 'page_number' : c.where === 'top' ? 'page_header' : 'page_footer';
    }
    out.set(page, blocks);
  }
  return out;
}

const plainOf = (md: string) =>
  md
    .replace(/^#{1,6}\s+/, '')
    .replace(/\\([\\`*_{}[\]()#+\-.!|])/g, '$1')
    .trim();

/**
 * The page's Markdown without its furniture blocks. Engines that lay out lines write one
 * paragraph per block, in block order: those go by position. Otherwise (a vision model's own
 * Markdown) a paragraph goes when it reads as a furniture block's text.
 */
export function withoutFurniture(markdown: string, blocks: Block[]): string {
  if (!blocks.some((b) => isFurniture(b.type))) return markdown;
  const paras = markdown.split(/\n{2,}/);
  if (paras.length === blocks.length) return paras.filter((_, i) => !isFurniture(blocks[i].type)).join('\n\n');
  const left = [...paras];
  for (const b of blocks.filter((x) => isFurniture(x.type))) {
    const at = left.findIndex((p) => plainOf(p) === b.text.trim());
    if (at >= 0) left.splice(at, 1);
  }
  return left.join('\n\n');
}
