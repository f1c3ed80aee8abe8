/**
 * The parser of DeepSeek-OCR's grounded output: `<|ref|>LABEL<|/ref|><|det|>[[x1,y1,x2,y2]]<|/det|>`
 * headers, each followed by the element's content. Pure. It is written against the shapes real
 * output takes, not only the tidy one (test/deepseek-output.test.ts has a golden example of each):
 * - "OCR this image." puts the text itself inside the ref (`<|ref|>Total: 12<|/ref|><|det|>…`);
 * - a table header often comes before its caption's header, with the caption and the table after
 *   both (`table`, `table_caption`, caption text, `<table>`): content goes to the element it is;
 * - tags are sometimes malformed: an unclosed `<|det|>`, a ref with no det, a det with no ref, a
 *   stray closing tag. None of them leaks into the Markdown, and no text or box moves onto the
 *   next element;
 * - a repetition loop cut at the length limit ends anywhere, even inside a tag.
 */
import type { BBox, Block } from '../../../../shared/bus/index.ts';
import { findHtmlTables, cellText, tablesAsTsv, tablesHtml } from '../../../../shared/document/index.ts';

export const KNOWN_LABELS = ['title', 'sub_title', 'text', 'table', 'table_caption', 'table_footnote', 'image', 'image_caption', 'equation'] as const;
const known = new Set<string>(KNOWN_LABELS);

export interface GroundingOptions {
  /** Page number used in image links `images/<page>_<k>.jpg` (the official script uses its page index). */
  page?: number;
  /**
   * The ref holds the element's text, not a label (the "OCR this image." prompt). Without it, a ref
   * that does not look like a label (spaces, capitals, digits, non-ASCII) is taken as text too.
   */
  refIsText?: boolean;
}

export interface ParsedPage {
  markdown: string;
  blocks: Block[];
}

interface Element {
  /** Where the header starts and ends in the text. */
  start: number;
  end: number;
  type: string;
  /** Text carried inside the ref (grounded OCR), already cleaned. */
  refText?: string;
  bbox: BBox | null;
  content: string;
  imageLink?: string;
}

// With skip_special_tokens=false a server may leave the end-of-sentence token in the text.
const EOS = /<｜end▁of▁sentence｜>/g;
const OPEN = /<\|(ref|det)\|>/g;
const BOX = /\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\]/g;
// The box list at the start of a det: `[[1, 2, 3, 4], [5, 6, 7, 8]]`, possibly cut short.
const BOX_LIST = /^\s*\[(?:\s*\[[-\d.,\s]*\]?\s*,?)*\s*\]?/;
// Any grounding token that is left over after the headers were taken out.
const STRAY = /<\|\/?(?:ref|det|grounding)\|>/g;
const LABEL_LIKE = /^[a-z][a-z0-9_]{0,31}$/;

/**
 * Turns the model's raw page text into Markdown plus layout blocks in page pixels.
 * Markdown follows the official clean-up: image elements become `![](images/<page>_<k>.jpg)`,
 * grounding tags are deleted (text carried inside a ref is kept), `\coloneqq`/`\eqqcolon` are
 * rewritten, blank-line runs collapse.
 */
export function parseGroundedOutput(raw: string, width: number, height: number, opts: GroundingOptions = {}): ParsedPage {
  const page = opts.page ?? 1;
  const text = raw.replace(EOS, '');
  const elements = readHeaders(text, width, height, opts.refIsText ?? false);
  let imageIndex = 0;
  for (const [i, el] of elements.entries()) {
    el.content = text.slice(el.end, i + 1 < elements.length ? elements[i + 1].start : text.length);
    // Every image element gets a link, boxed or not, so the numbering matches the official script.
    if (el.type === 'image') el.imageLink = `![](images/${page}_${imageIndex++}.jpg)`;
  }

  let markdown = text.slice(0, elements[0]?.start ?? text.length);
  for (const el of elements) {
    const head = el.imageLink ? `${el.imageLink}\n` : (el.refText ?? '');
    markdown += head + el.content;
  }
  markdown = collapseBlankLines(cleanLatex(markdown.replace(STRAY, ''))).trim();

  return { markdown, blocks: toBlocks(elements) };
}

/** Finds every element header; malformed ones are repaired or reduced to what they say for sure. */
function readHeaders(text: string, width: number, height: number, refIsText: boolean): Element[] {
  const out: Element[] = [];
  OPEN.lastIndex = 0;
  for (let m = OPEN.exec(text); m; m = OPEN.exec(text)) {
    const start = m.index;
    let pos = m.index + m[0].length;
    let ref: string | undefined;
    if (m[1] === 'ref') {
      const r = readUntilClose(text, pos, '<|/ref|>');
      ref = r.body;
      pos = r.end;
      const det = /^[ \t]*<\|det\|>/.exec(text.slice(pos));
      if (!det) {
        // A ref with no det: no box to give; text inside the ref still counts as text.
        out.push({ start, end: pos, ...labelOf(ref, refIsText), bbox: null, content: '' });
        OPEN.lastIndex = pos;
        continue;
      }
      pos += det[0].length;
    }
    const d = readDet(text, pos);
    pos = d.end;
    out.push({ start, end: pos, ...(ref === undefined ? { type: 'text' } : labelOf(ref, refIsText)), bbox: toPixels(d.body, width, height), content: '' });
    OPEN.lastIndex = pos;
  }
  return out;
}

/** A tag's body up to its closing tag; an unclosed one ends at the next opening tag or line end. */
function readUntilClose(text: string, from: number, close: string): { body: string; end: number } {
  const lineEnd = text.indexOf('\n', from);
  const nextOpen = text.slice(from).search(/<\|(?:ref|det)\|>/);
  const limit = Math.min(lineEnd < 0 ? text.length : lineEnd, nextOpen < 0 ? text.length : from + nextOpen);
  const closeAt = text.indexOf(close, from);
  if (closeAt >= 0 && closeAt <= limit) return { body: text.slice(from, closeAt), end: closeAt + close.length };
  return { body: text.slice(from, limit), end: limit };
}

/** The det's box list; when `<|/det|>` is missing, only the boxes are taken, never the text after them. */
function readDet(text: string, from: number): { body: string; end: number } {
  const list = BOX_LIST.exec(text.slice(from));
  const end = from + (list ? list[0].length : 0);
  const close = /^[ \t]*<\|\/det\|>/.exec(text.slice(end));
  if (close) return { body: text.slice(from, end), end: end + close[0].length };
  // `<|det|>junk<|/det|>`: a close later on the same line still ends the det.
  const r = readUntilClose(text, from, '<|/det|>');
  if (text.slice(from, r.end).includes('<|/det|>')) return r;
  return { body: text.slice(from, end), end };
}

function labelOf(ref: string, refIsText: boolean): { type: string; refText?: string } {
  const label = ref.trim();
  if (!refIsText && LABEL_LIKE.test(label)) return { type: known.has(label) ? label : 'text' };
  return { type: 'text', refText: ref };
}

/**
 * Elements whose headers follow each other with no content between them share the content that
 * comes after the last: an HTML table goes to the table element, the other paragraphs to the
 * others in order (a caption before the table, a footnote after it).
 */
function toBlocks(elements: Element[]): Block[] {
  const texts = new Map<Element, string[]>();
  let group: Element[] = [];
  for (const el of elements) {
    group.push(el);
    if (el.content.trim() === '' && el !== elements[elements.length - 1]) continue;
    share(group, el.content, texts);
    group = [];
  }
  if (group.length > 0) share(group, '', texts);

  const blocks: Block[] = [];
  for (const el of elements) {
    if (!el.bbox) continue;
    const own = el.refText !== undefined ? cleanLatex(el.refText.trim()) : '';
    const parts = [own, ...(texts.get(el) ?? [])].filter((s) => s !== '');
    const content = collapseBlankLines(cleanLatex(parts.join('\n\n').replace(STRAY, '')));
    const body = el.imageLink ?? plainText(el.type, content);
    // Tables keep the model's HTML too: spans and header cells are data the plain text loses.
    const html = el.type === 'table' ? tablesHtml(content) : '';
    blocks.push({ type: el.type, bbox: el.bbox, text: body, order: blocks.length, ...(html ? { html } : {}) });
  }
  return blocks;
}

function share(group: Element[], content: string, texts: Map<Element, string[]>): void {
  const takers = group.filter((e) => e.type !== 'image');
  if (takers.length === 0 || content.trim() === '') return;
  const add = (e: Element, s: string) => {
    if (s.trim() === '') return;
    const list = texts.get(e) ?? [];
    list.push(s.trim());
    texts.set(e, list);
  };
  if (takers.length === 1) return add(takers[0], content);
  const tableTaker = takers.find((e) => e.type === 'table');
  const others = takers.filter((e) => e !== tableTaker);
  const tables = tableTaker ? findHtmlTables(content) : [];
  // Text pieces between the tables, split into paragraphs.
  const paragraphs: string[] = [];
  let cursor = 0;
  for (const t of tables) {
    paragraphs.push(...splitParagraphs(content.slice(cursor, t.start)));
    add(tableTaker!, t.html);
    cursor = t.end;
  }
  paragraphs.push(...splitParagraphs(content.slice(cursor)));
  if (others.length === 0) return paragraphs.forEach((p) => add(tableTaker!, p));
  // Grounded-OCR elements carry their own text: they take content only when nothing else can.
  const receivers = others.filter((e) => e.refText === undefined);
  const list = receivers.length > 0 ? receivers : [others[others.length - 1]];
  paragraphs.forEach((p, i) => add(list[Math.min(i, list.length - 1)], p));
}

function splitParagraphs(s: string): string[] {
  return s
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter(Boolean);
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

export function cleanLatex(s: string): string {
  return s.replaceAll('\\coloneqq', ':=').replaceAll('\\eqqcolon', '=:');
}

export function collapseBlankLines(s: string): string {
  // Whitespace-only lines count as blank, so "\n  \n\n" collapses too.
  return s.replace(/\n[ \t]*(?:\n[ \t]*){2,}/g, '\n\n');
}

/**
 * A block's text is the element's content without Markdown/HTML decoration, for search and layout
 * consumers; the Markdown keeps the decorated form. Tables: cells joined by tabs, rows by newlines.
 */
export function plainText(type: string, content: string): string {
  if (type === 'table' || /<table[\s>]/i.test(content)) return tableText(content);
  let s = content;
  if (type === 'title' || type === 'sub_title') s = s.replace(/^#{1,6}[ \t]+/gm, '');
  s = s.replace(/<\/?center>/gi, '');
  return s.trim();
}

function tableText(content: string): string {
  return findHtmlTables(content).length === 0 ? cellText(content) : tablesAsTsv(content);
}
