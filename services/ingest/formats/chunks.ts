/**
 * document.json → chunks for retrieval (what docling-serve and Unstructured users feed to vector
 * stores). Pure. Heading-aware: a chunk never runs across a heading, and carries the path of
 * headings above it; under `maxTokens` (a unit bigger than that is split at sentence, then word,
 * boundaries); consecutive chunks of one section share about `overlap` tokens. Each chunk names
 * its pages and the boxes (page pixels) of the blocks its text came from.
 */
import type { BBox, Block, DocumentResult } from '../../../shared/bus/index.ts';

export interface ChunkOptions {
  /** Upper bound per chunk, in estimated tokens (default 512). */
  maxTokens?: number;
  /** Tokens repeated from the end of the previous chunk of the same section (default 64). */
  overlap?: number;
}

export interface Chunk {
  index: number;
  text: string;
  /** Titles above this chunk, outermost first. */
  headings: string[];
  pages: number[];
  boxes: Array<{ page: number; bbox: BBox }>;
  tokens: number;
}

interface Unit {
  text: string;
  page: number;
  bbox: BBox;
  tokens: number;
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const TOKEN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]|[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;

/**
 * Estimated tokens, close to BPE tokenizers (cl100k, Llama): a CJK character is one, a word about
 * one per 4 characters, a punctuation mark one. An estimate: keep maxTokens below the embedding
 * model's hard limit.
 */
export function estimateTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(TOKEN)) n += CJK.test(m[0]) ? 1 : /[\p{L}\p{N}]/u.test(m[0][0]) ? Math.ceil(m[0].length / 4) : 1;
  return n;
}

export function chunkDocument(doc: DocumentResult, opts: ChunkOptions = {}): Chunk[] {
  const maxTokens = Math.max(16, opts.maxTokens ?? 512);
  const overlap = Math.min(Math.max(0, opts.overlap ?? 64), Math.floor(maxTokens / 2));
  const chunks: Chunk[] = [];
  const headings: string[] = [];
  let current: Unit[] = [];
  let size = 0;

  const emit = () => {
    if (current.length === 0) return;
    const text = current.map((u) => u.text).join('\n\n');
    const pages = [...new Set(current.map((u) => u.page))];
    const boxes: Chunk['boxes'] = [];
    for (const u of current) if (!boxes.some((b) => b.page === u.page && b.bbox.join() === u.bbox.join())) boxes.push({ page: u.page, bbox: u.bbox });
    chunks.push({ index: chunks.length, text, headings: [...headings], pages, boxes, tokens: estimateTokens(text) });
  };
  /** Ends a chunk; the next one of the same section starts with its last ≈ overlap tokens. */
  const cut = () => {
    emit();
    const tail: Unit[] = [];
    let t = 0;
    for (let k = current.length - 1; k >= 0 && overlap > 0; k--) {
      const u = current[k];
      if (t + u.tokens <= overlap) {
        tail.unshift(u);
        t += u.tokens;
        continue;
      }
      if (tail.length === 0) {
        const words = lastTokens(u.text, overlap);
        if (words) tail.unshift({ ...u, text: words, tokens: estimateTokens(words) });
      }
      break;
    }
    current = tail;
    size = tail.reduce((n, u) => n + u.tokens, 0);
  };
  const sectionBreak = () => {
    emit();
    current = [];
    size = 0;
  };

  for (const page of doc.pages) {
    if (page.status !== 'done') continue;
    for (const el of elementsOf(page)) {
      if (el.heading !== undefined) {
        sectionBreak();
        headings.length = Math.min(headings.length, el.heading - 1);
        headings.push(el.text);
        continue;
      }
      for (const piece of splitToFit(el.text, maxTokens - overlap)) {
        const unit: Unit = { text: piece, page: page.page, bbox: el.bbox, tokens: estimateTokens(piece) };
        if (size + unit.tokens > maxTokens && current.length > 0) cut();
        // The overlap may leave too little room: drop it rather than exceed the limit.
        if (size + unit.tokens > maxTokens) {
          current = [];
          size = 0;
        }
        current.push(unit);
        size += unit.tokens;
      }
    }
  }
  emit();
  return chunks;
}

interface Element {
  text: string;
  bbox: BBox;
  /** Heading level (1 = title), for headings. */
  heading?: number;
}

/** A page's text elements in reading order: its blocks, or its Markdown's paragraphs (boxed as the whole page). */
function elementsOf(page: DocumentResult['pages'][number]): Element[] {
  if (page.blocks.length > 0) {
    return [...page.blocks]
      .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
      .filter((b) => b.type !== 'image' && b.text.trim() !== '')
      .map((b: Block) => ({ text: b.text.trim(), bbox: b.bbox, ...(b.type === 'title' ? { heading: 1 } : b.type === 'sub_title' ? { heading: 2 } : {}) }));
  }
  const whole: BBox = [0, 0, page.width ?? 0, page.height ?? 0];
  return page.markdown
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '' && !/^!\[[^\]]*\]\([^)]*\)$/.test(p))
    .map((p) => {
      const h = /^(#{1,6})[ \t]+(.*)$/s.exec(p);
      return h ? { text: h[2].trim(), bbox: whole, heading: Math.min(2, h[1].length) } : { text: p, bbox: whole };
    });
}

/** Pieces of at most `limit` tokens: whole when it fits, else sentences, else words (or CJK characters). */
function splitToFit(text: string, limit: number): string[] {
  if (estimateTokens(text) <= limit) return [text];
  const sentences = text.match(/[^.!?。！？\n]+(?:[.!?。！？]+|\n|$)\s*/gu) ?? [text];
  const pieces: string[] = [];
  let cur = '';
  const flush = () => {
    if (cur.trim() !== '') pieces.push(cur.trim());
    cur = '';
  };
  for (const s of sentences) {
    if (estimateTokens(cur + s) <= limit) {
      cur += s;
      continue;
    }
    flush();
    if (estimateTokens(s) <= limit) {
      cur = s;
      continue;
    }
    for (const w of s.match(TOKEN_WITH_SPACE) ?? []) {
      if (estimateTokens(cur + w) > limit) flush();
      cur += w;
    }
  }
  flush();
  return pieces;
}

const TOKEN_WITH_SPACE =
  /(?:[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]|[^\s\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+)\s*/gu;

/** The end of a text worth about `n` tokens, cut at a word boundary. */
function lastTokens(text: string, n: number): string {
  const words = text.match(TOKEN_WITH_SPACE) ?? [];
  let out = '';
  for (let k = words.length - 1; k >= 0; k--) {
    if (estimateTokens(words[k] + out) > n) break;
    out = words[k] + out;
  }
  return out.trim();
}
