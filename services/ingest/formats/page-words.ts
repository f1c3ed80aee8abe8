/**
 * document.json blocks → regions, lines and words with boxes, for the outputs that place text by
 * position (searchable PDF, hOCR, ALTO). Pure.
 *
 * Engines differ in what they see: the CPU engine and PDF text layers keep each block's lines
 * with their boxes (Block.lines); vision models give a box per block only. Lines that came with
 * boxes are kept as they are; a block without them is wrapped into as many lines as its box
 * holds at an ordinary line spacing, so the text lies roughly where the page shows it. Word boxes
 * are always estimated within their line, in proportion to typical glyph widths: no engine reports
 * where one word ends. `estimated` says which lines were laid out here.
 */
import type { BBox, Block, DocumentResult } from '../../../shared/bus/index.ts';

export type DocPage = DocumentResult['pages'][number];

export interface Word {
  text: string;
  bbox: BBox;
  confidence?: number;
}

export interface Line {
  bbox: BBox;
  words: Word[];
  confidence?: number;
  /** True when the engine gave no line box and this one was laid out from the block's box. */
  estimated: boolean;
  /** The text's em in pixels as its width implies (detectors' line boxes run taller than the type). */
  em: number;
}

export interface Region {
  block: Block;
  /** 'image' regions carry no text (figures); the others are read. */
  kind: 'text' | 'image';
  lines: Line[];
}

/** The page's blocks in reading order, each with its lines and words. */
export function pageRegions(page: DocPage): Region[] {
  const blocks = [...page.blocks].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  return blocks.map((block): Region => {
    if (block.type === 'image') return { block, kind: 'image', lines: [] };
    const lines = block.lines?.length ? block.lines.map((l) => lineOf(l.text, sorted(l.bbox), l.confidence ?? block.confidence, false)) : estimateLines(block);
    return { block, kind: 'text', lines: lines.filter((l) => l.words.length > 0) };
  });
}

function sorted(b: BBox): BBox {
  return [Math.min(b[0], b[2]), Math.min(b[1], b[3]), Math.max(b[0], b[2]), Math.max(b[1], b[3])];
}

// ---------- words within a line ----------

const CJK = /[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]|[\u{20000}-\u{3ffff}]/u;

/** Rough advance of one character in em (Helvetica-like for Latin, full width for CJK). */
export function charWidth(c: string): number {
  if (c === ' ') return 0.28;
  if (CJK.test(c)) return 1;
  if (/[iljtfrI.,;:!|'"`()[\]{}]/.test(c)) return 0.3;
  if (/[mwMW]/.test(c)) return 0.85;
  if (/[A-Z]/.test(c)) return 0.68;
  if (/[0-9]/.test(c)) return 0.556;
  return 0.52;
}

export const textWidth = (s: string) => [...s].reduce((n, c) => n + charWidth(c), 0);

/** Space left at each end of a line's box, in em. */
const LINE_PAD = 0.1;

/** Splits a line's text into words laid along its box by their estimated widths. */
export function lineOf(text: string, bbox: BBox, confidence: number | undefined, estimated: boolean): Line {
  const clean = text.replace(/\s+/g, ' ').trim();
  const line: Line = { bbox, words: [], estimated, em: bbox[3] - bbox[1], ...(confidence !== undefined ? { confidence } : {}) };
  if (!clean) return line;
  // Detectors pad a line's box by a fraction of an em each side: the words start and end inside
  // it, which also keeps a word break between cells whose boxes touch.
  const total = textWidth(clean) + 2 * LINE_PAD;
  const scale = (bbox[2] - bbox[0]) / total;
  line.em = scale;
  let at = LINE_PAD;
  for (const part of clean.split(' ')) {
    const w = textWidth(part);
    const x1 = bbox[0] + at * scale;
    line.words.push({ text: part, bbox: [round(x1), bbox[1], round(x1 + w * scale), bbox[3]], ...(confidence !== undefined ? { confidence } : {}) });
    at += w + charWidth(' ');
  }
  return line;
}

const round = (v: number) => Math.round(v * 100) / 100;

// ---------- lines of a block without line boxes ----------

/** Line pitch over font size: ordinary single spacing. */
const LEADING = 1.2;
/** How full a wrapped line runs on average (ragged right, word breaks). */
const FILL = 0.9;

/**
 * A block's text wrapped into lines that fill its box: explicit line breaks (table rows, verse,
 * addresses) are kept; a paragraph is wrapped to the line count its box and text length imply,
 * balanced so that each line is as long as the box is wide.
 */
export function estimateLines(block: Block): Line[] {
  const paragraphs = paragraphsOf(block);
  if (paragraphs.length === 0) return [];
  const [x1, y1, x2, y2] = sorted(block.bbox);
  const width = Math.max(1, x2 - x1);
  const height = Math.max(1, y2 - y1);
  const total = paragraphs.reduce((n, p) => n + textWidth(p), 0);
  const words = paragraphs.reduce((n, p) => n + tokens(p).length, 0);
  // k lines of pitch h = height/k carry text at height/(k·LEADING) per em: fits k·width·FILL.
  const guess = Math.round(Math.sqrt((total * height) / (LEADING * width * FILL)));
  const k = Math.min(Math.max(guess, paragraphs.length), words);
  const { lines, measure } = wrapInto(paragraphs, k);
  const pitch = height / lines.length;
  return lines.map((text, i) => {
    const w = Math.min(width, (textWidth(text) / measure) * width);
    return lineOf(text, [x1, round(y1 + i * pitch), round(x1 + w), round(y1 + (i + 1) * pitch)], block.confidence, true);
  });
}

/** Block text as paragraphs (one per hard line): Markdown table rows become their cells' text. */
function paragraphsOf(block: Block): string[] {
  let rows = block.text.split('\n');
  if (block.type === 'table') {
    rows = rows
      .filter((r) => !/^\s*\|?\s*:?-{2,}/.test(r))
      .map((r) =>
        r
          .replace(/^\s*\|/, '')
          .replace(/\|\s*$/, '')
          .split(/\t|\s\|\s|\|/)
          .map((c) => c.trim())
          .filter(Boolean)
          .join(' '),
      );
  }
  return rows.map((r) => r.replace(/\s+/g, ' ').trim()).filter(Boolean);
}

/** Break opportunities: spaces, and between CJK characters (written without spaces). */
interface Token {
  text: string;
  spaced: boolean;
}

function tokens(p: string): Token[] {
  const out: Token[] = [];
  for (const word of p.split(' ')) {
    const pieces = word.split(/(?<=\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}|\p{Script=Hangul})/u).filter(Boolean);
    pieces.forEach((text, i) => out.push({ text, spaced: i === 0 }));
  }
  return out;
}

/** Greedy wrap of each paragraph at the narrowest measure (in em) that needs at most k lines. */
function wrapInto(paragraphs: string[], k: number): { lines: string[]; measure: number } {
  const widest = Math.max(...paragraphs.flatMap((p) => tokens(p).map((t) => textWidth(t.text))));
  let lo = widest;
  let hi = Math.max(widest, ...paragraphs.map(textWidth));
  for (let i = 0; i < 30 && hi - lo > 0.01; i++) {
    const mid = (lo + hi) / 2;
    if (wrap(paragraphs, mid).length <= k) hi = mid;
    else lo = mid;
  }
  return { lines: wrap(paragraphs, hi), measure: hi };
}

function wrap(paragraphs: string[], measure: number): string[] {
  const out: string[] = [];
  for (const p of paragraphs) {
    let line = '';
    for (const t of tokens(p)) {
      const next = line ? (t.spaced ? `${line} ${t.text}` : line + t.text) : t.text;
      if (line && textWidth(next) > measure + 1e-9) {
        out.push(line);
        line = t.text;
      } else line = next;
    }
    if (line) out.push(line);
  }
  return out;
}
