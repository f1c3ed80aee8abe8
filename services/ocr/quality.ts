/**
 * Quality signals of one page's answer: how sure the engine was (token log-probabilities of a
 * vision model, the recogniser's line confidences of the CPU engine), how much of the text repeats
 * (a generation loop), and whether the text fits the page (much ink, little text is a page the
 * engine skipped or hallucinated over). Pure functions of the answer and the page image.
 */
import sharp from 'sharp';
import type { Block, PageQuality } from '../../shared/bus/messages.ts';

/** One generated token and its natural-log probability (OpenAI `logprobs.content[]`). */
export interface TokenLogprob {
  token: string;
  logprob: number;
}

/** A page whose text repeats this much is a loop: above what tables and lists of similar lines reach. */
export const LOOP_REPETITION = 0.5;
/** Below this mean confidence a page's text is not trusted. */
export const LOW_CONFIDENCE = 0.5;
/** Ink share (dark pixels outside figures) above which a page is expected to carry text. */
const INKED_PAGE = 0.01;
/**
 * Characters expected per 1% of inked page at least: a printed page at 10% ink holds thousands of
 * characters; a fifth of a character per thousandth of ink is far below any real text page.
 */
const MIN_CHARS_PER_INK_PERCENT = 20;
const NGRAM = 6;

/**
 * Share of the text (in characters) that repeats what came before: whole lines said again, or
 * runs of words whose 6-word window was already seen. A loop scores near 1, prose near 0.
 */
export function repetitionScore(text: string): number {
  const lines = text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l.length > 0);
  const total = lines.reduce((n, l) => n + l.length, 0);
  if (total === 0) return 0;
  // Lines: a short line said again (a table cell, a bullet) repeats little; a long one repeats a lot.
  const seenLines = new Set<string>();
  let repeatedLineChars = 0;
  for (const l of lines) {
    if (seenLines.has(l) && l.length >= 8) repeatedLineChars += l.length;
    seenLines.add(l);
  }
  // Words: a loop inside one long line (no newline) shows as n-grams met again.
  const words = lines.join(' ').split(' ');
  const covered = new Uint8Array(words.length);
  const seen = new Set<string>();
  for (let i = 0; i + NGRAM <= words.length; i++) {
    const key = words.slice(i, i + NGRAM).join(' ');
    if (seen.has(key)) covered.fill(1, i, i + NGRAM);
    else seen.add(key);
  }
  let repeatedWordChars = 0;
  let wordChars = 0;
  for (const [i, w] of words.entries()) {
    wordChars += w.length;
    if (covered[i]) repeatedWordChars += w.length;
  }
  const byLines = repeatedLineChars / total;
  const byWords = wordChars > 0 ? repeatedWordChars / wordChars : 0;
  return round(Math.max(byLines, byWords));
}

/**
 * Share of dark pixels on the page outside figure blocks (figures are ink without text), measured
 * on a downscaled grey copy: cheap, and a threshold at mid-grey ignores paper tint and JPEG noise.
 */
export async function inkShare(image: Buffer, width: number, height: number, blocks: Block[]): Promise<number> {
  const scale = Math.min(1, 1000 / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const { data } = await sharp(image).greyscale().resize(w, h, { fit: 'fill', kernel: 'linear' }).raw().toBuffer({ resolveWithObject: true });
  const figures = blocks.filter((b) => b.type === 'image').map((b) => b.bbox.map((v) => v * scale));
  let ink = 0;
  let counted = 0;
  for (let y = 0; y < h; y++) {
    // Per row, the figures crossing it (usually none: the row is one tight loop).
    const across = figures.filter(([, y1, , y2]) => y >= y1 && y <= y2);
    for (let x = 0; x < w; x++) {
      if (across.length > 0 && across.some(([x1, , x2]) => x >= x1 && x <= x2)) continue;
      counted++;
      if (data[y * w + x] < 160) ink++;
    }
  }
  return counted === 0 ? 0 : round(ink / counted);
}

/** exp(mean log-probability) of tokens: the geometric mean probability, and the least likely token's. */
export function tokenConfidence(tokens: readonly TokenLogprob[]): { mean: number; min: number } | undefined {
  const usable = tokens.filter((t) => Number.isFinite(t.logprob));
  if (usable.length === 0) return undefined;
  const mean = usable.reduce((s, t) => s + t.logprob, 0) / usable.length;
  const min = Math.min(...usable.map((t) => t.logprob));
  return { mean: round(Math.exp(mean)), min: round(Math.exp(min)) };
}

/**
 * Confidence per block from the tokens that wrote it: each block's text is found in the raw
 * answer (in order, from where the previous one ended) and gets the geometric mean of the tokens
 * over that span. A block not found verbatim (a parser rewrote it: tables to cells, tags stripped)
 * gets the page's confidence.
 */
export function blocksWithTokenConfidence(blocks: Block[], raw: string, tokens: readonly TokenLogprob[]): Block[] {
  const page = tokenConfidence(tokens);
  if (!page) return blocks;
  // Character offset where each token starts in the raw answer (the tokens spell it out in order).
  const starts: number[] = [];
  let at = 0;
  for (const t of tokens) {
    starts.push(at);
    at += t.token.length;
  }
  let cursor = 0;
  return blocks.map((b) => {
    if (b.confidence !== undefined) return b;
    const probe = b.text.trim().slice(0, 40);
    const from = probe ? raw.indexOf(probe, cursor) : -1;
    if (from < 0) return { ...b, confidence: page.mean };
    const to = from + Math.max(probe.length, b.text.trim().length);
    cursor = from + probe.length;
    const span = tokens.filter((_, i) => starts[i] < to && starts[i] + tokens[i].token.length > from);
    return { ...b, confidence: tokenConfidence(span)?.mean ?? page.mean };
  });
}

/** Character-weighted mean of the blocks' confidences (undefined when no block has one). */
export function blocksConfidence(blocks: readonly Block[]): number | undefined {
  let sum = 0;
  let weight = 0;
  for (const b of blocks) {
    if (b.confidence === undefined) continue;
    const w = Math.max(1, b.text.length);
    sum += b.confidence * w;
    weight += w;
  }
  return weight === 0 ? undefined : round(sum / weight);
}

export interface AssessInput {
  markdown: string;
  blocks: Block[];
  image: Buffer;
  width: number;
  height: number;
  /** Token log-probabilities, when the engine's server returned them. */
  tokens?: readonly TokenLogprob[];
  /** The kept answer ran into max_tokens (or was only saved by a lighter prompt after doing so). */
  truncated?: boolean;
  /** Whether the engine generates text (a vision model can loop; a recogniser cannot). */
  generative: boolean;
}

/** The page's quality object, with the reasons it is suspect (none: it is not). */
export async function assessPage(a: AssessInput): Promise<PageQuality> {
  const text = a.blocks.length > 0 ? a.blocks.map((b) => (b.type === 'image' ? '' : b.text)).join('\n') : a.markdown;
  const chars = text.replace(/\s+/g, '').length;
  const repetition = repetitionScore(text);
  const fromTokens = a.tokens ? tokenConfidence(a.tokens) : undefined;
  const confidence = fromTokens?.mean ?? blocksConfidence(a.blocks);
  const ink = await inkShare(a.image, a.width, a.height, a.blocks);
  const reasons: PageQuality['reasons'] = [];
  if (a.generative && repetition >= LOOP_REPETITION) reasons.push('looping');
  if (a.truncated) reasons.push('truncated');
  if (ink >= INKED_PAGE && chars < ink * 100 * MIN_CHARS_PER_INK_PERCENT) reasons.push('little-text');
  if (confidence !== undefined && confidence < LOW_CONFIDENCE) reasons.push('low-confidence');
  return {
    ...(confidence !== undefined ? { confidence } : {}),
    ...(fromTokens ? { minTokenConfidence: fromTokens.min } : {}),
    repetition,
    truncated: a.truncated ?? false,
    chars,
    ink,
    suspect: reasons.length > 0,
    reasons,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
