/**
 * Pieces the model parsers share. Pure: no I/O.
 * - OTSL (the table language of MinerU2.5 and PaddleOCR-VL) → HTML, the way their
 *   `convert_otsl_to_html` does it (padded to a rectangle, spans from `<lcel>`/`<ucel>`/`<xcel>`);
 * - Qwen2-VL's `smart_resize` (dots.ocr's boxes are pixels of the image as the model saw it);
 * - PaddleOCR-VL's `truncate_repetitive_content` (cuts a repetition loop off an answer);
 * - blocks from typed elements (text of a table = tab-separated cells, HTML kept).
 */
import type { BBox, Block } from '../../../../shared/bus/index.ts';
import { cellText, findHtmlTables, tablesAsTsv, tablesHtml } from '../../../../shared/document/index.ts';
import { collapseBlankLines, type ParsedPage } from './grounding.ts';

// ---------------------------------------------------------------- OTSL → HTML

const OTSL_TOKEN = /<(fcel|ecel|lcel|ucel|xcel|nl|ched|rhed|srow)>/g;

/** True when the text is (or contains) an OTSL table. */
export function looksLikeOtsl(s: string): boolean {
  return /<(?:fcel|ecel)>/.test(s);
}

/**
 * OTSL to an HTML table. Each row is a run of cells up to `<nl>`: `<fcel>text` a full cell, `<ecel>`
 * an empty one, `<lcel>` merges into the cell on its left (colspan), `<ucel>` into the one above
 * (rowspan), `<xcel>` both. Rows are padded to the longest (the official `otsl_pad_to_sqr_v2`);
 * a table cut off mid-row (a truncated answer) keeps what it has.
 */
export function otslToHtml(otsl: string): string {
  const rows: Array<Array<{ kind: string; text: string }>> = [[]];
  const body = otsl.replace(/<\/?otsl>/g, '');
  let last = 0;
  let current: { kind: string; text: string } | undefined;
  for (const m of body.matchAll(OTSL_TOKEN)) {
    if (current) current.text += body.slice(last, m.index);
    last = m.index + m[0].length;
    const kind = m[1] === 'ched' || m[1] === 'rhed' || m[1] === 'srow' ? 'fcel' : m[1];
    if (kind === 'nl') {
      rows.push([]);
      current = undefined;
      continue;
    }
    current = { kind, text: '' };
    rows[rows.length - 1].push(current);
  }
  if (current) current.text += body.slice(last);
  const grid = rows.filter((r) => r.length > 0);
  if (grid.length === 0) return '';
  const width = Math.max(...grid.map((r) => r.length));
  for (const r of grid) while (r.length < width) r.push({ kind: 'ecel', text: '' });

  const out: string[] = ['<table>'];
  for (let y = 0; y < grid.length; y++) {
    out.push('<tr>');
    for (let x = 0; x < width; x++) {
      const c = grid[y][x];
      if (c.kind === 'lcel' || c.kind === 'ucel' || c.kind === 'xcel') continue;
      let colspan = 1;
      while (x + colspan < width && (grid[y][x + colspan].kind === 'lcel' || grid[y][x + colspan].kind === 'xcel')) colspan++;
      let rowspan = 1;
      while (y + rowspan < grid.length && (grid[y + rowspan][x].kind === 'ucel' || grid[y + rowspan][x].kind === 'xcel')) rowspan++;
      const attrs = (rowspan > 1 ? ` rowspan="${rowspan}"` : '') + (colspan > 1 ? ` colspan="${colspan}"` : '');
      out.push(`<td${attrs}>${escapeHtml(c.text.trim())}</td>`);
    }
    out.push('</tr>');
  }
  out.push('</table>');
  return out.join('');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// ---------------------------------------------------------------- Qwen2-VL smart_resize

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Qwen2-VL's `smart_resize`: the size the model's processor resizes an image to (both sides
 * multiples of `factor`, area within [minPixels, maxPixels], aspect kept). dots.ocr answers boxes
 * in pixels of that size.
 */
export function smartResize(height: number, width: number, factor = 28, minPixels = 3136, maxPixels = 11_289_600): { height: number; width: number } {
  let h = Math.max(factor, roundHalfEven(height / factor) * factor);
  let w = Math.max(factor, roundHalfEven(width / factor) * factor);
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: h, width: w };
}

// ---------------------------------------------------------------- repetition

/**
 * PaddleOCR-VL's `truncate_repetitive_content`: an answer that ends in a loop is cut to one copy of
 * what repeats. Three shapes, tried in order: a suffix phrase (≥ 8 characters) repeated ≥ 5 times
 * back to back; the whole answer one character repeated (≥ 10); ≥ 10 lines of which ≥ 80 % are one
 * line. `minCount` is the official threshold below which nothing is cut (50; 5000 for tables).
 */
export function truncateRepetitive(content: string, minCount = 50): { text: string; cut: boolean } {
  const stripped = content.trim();
  if (stripped.length < minCount) return { text: content, cut: false };
  const n = stripped.length;
  // Suffix phrase repeats.
  for (let len = 8; len <= Math.floor(n / 5); len++) {
    const unit = stripped.slice(n - len);
    let count = 1;
    while (count * len + len <= n && stripped.slice(n - (count + 1) * len, n - count * len) === unit) count++;
    if (count >= 5) return { text: stripped.slice(0, n - count * len) + unit, cut: true };
  }
  if (n >= 10 && new Set(stripped).size === 1) return { text: stripped[0], cut: true };
  const lines = stripped
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length >= 10) {
    const counts = new Map<string, number>();
    for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
    const [top, count] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    if (count / lines.length >= 0.8) {
      // Keep everything before the loop set in, and the repeated line once.
      const first = stripped.indexOf(top);
      return { text: stripped.slice(0, first) + top, cut: true };
    }
  }
  return { text: content, cut: false };
}

// ---------------------------------------------------------------- elements → page

/** One element of a page as a parser reads it, before it becomes a Block. */
export interface Element {
  type: string;
  bbox: BBox;
  /** The element's Markdown (tables: HTML; formulas: `$$…$$` or `\[…\]`). */
  markdown: string;
  /** Left out of the page's Markdown (page headers/footers, page numbers), kept as typed blocks. */
  paratext?: boolean;
}

/** Page headers, footers and numbers: typed blocks, out of the Markdown (what the models' own Markdown does). */
export const PARATEXT = new Set(['header', 'footer', 'page_number']);

/** Elements in reading order → the page's Markdown and blocks. */
export function pageFromElements(elements: Element[]): ParsedPage {
  const blocks: Block[] = [];
  const md: string[] = [];
  for (const el of elements) {
    const content = el.markdown.trim();
    if (content === '' && el.type !== 'image') continue;
    if (!el.paratext) md.push(content);
    const html = el.type === 'table' ? tablesHtml(content) : '';
    blocks.push({ type: el.type, bbox: el.bbox, text: blockText(el.type, content), order: blocks.length, ...(html ? { html } : {}) });
  }
  return { markdown: collapseBlankLines(md.filter(Boolean).join('\n\n')).trim(), blocks };
}

/** A block's plain text: Markdown/HTML decoration off, tables as tab-separated rows; formulas and image links as written. */
export function blockText(type: string, md: string): string {
  if (type === 'table' && findHtmlTables(md).length > 0) return tablesAsTsv(md);
  if (type === 'image' || type === 'equation') return md.trim();
  let s = md;
  if (type === 'title' || type === 'sub_title') s = s.replace(/^#{1,6}[ \t]+/gm, '');
  s = s.replace(/\*\*([^*\n]+)\*\*/g, '$1').replace(/<br\s*\/?>/gi, '\n');
  return cellTextKeepLines(s);
}

/** Lines with HTML tags lose them (entities decoded); other lines are kept as written. */
function cellTextKeepLines(s: string): string {
  return s
    .split('\n')
    .map((l) => (/<[a-z/][^>]*>/i.test(l) ? cellText(l) : l.trim()))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Boxes on a 0–`scale` grid of the page → page pixels, corners ordered, clamped to the page. */
export function scaleBox(b: readonly number[], scale: number, width: number, height: number): BBox {
  const [x1, y1, x2, y2] = b.map((v) => Math.min(scale, Math.max(0, v)));
  const sx = width / scale;
  const sy = height / scale;
  return [Math.round(Math.min(x1, x2) * sx), Math.round(Math.min(y1, y2) * sy), Math.round(Math.max(x1, x2) * sx), Math.round(Math.max(y1, y2) * sy)];
}

/** End-of-turn tokens servers leave in the text when special tokens are not skipped. */
export const END_TOKENS = /<\|(?:im_end|endoftext|end_of_text|eot_id|end|box_end_placeholder)\|>|<\/s>|<｜end▁of▁sentence｜>/g;
