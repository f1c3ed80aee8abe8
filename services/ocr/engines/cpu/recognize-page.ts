// One page through the CPU engine: decode and scale with sharp, detect and read lines with
// PaddleOCR, map boxes back to page pixels, lay the lines out as Markdown and blocks.
import type { BBox } from '../../../../shared/bus/messages.ts';
import type { EngineOutput } from '../../engine.ts';
import { layoutPage } from '../../layout.ts';
import { decode, scaled, scaledBy, turned, type Decoded } from './page-image.ts';
import { boxOf, clampBox, corners, lineHeight, rotation, roundBox, skewAngle, unturn, type Point } from './page-geometry.ts';
import type { Paddle, Quad, RawImage, Timings } from './paddle.ts';
import { levelled, MIN_SKEW } from './deskew.ts';
import { DETECT_TYPE, detectionScale, inkBlobs, inkImage, missedInk, typeHeight } from './text-scale.ts';
import { bandImage, bands, mergeBands } from './tiles.ts';
import type { PageJob, WorkerInit } from './protocol.ts';
import { withFigures } from './figures-cpu.ts';
import { inScript } from './script.ts';
import { isWord } from '../../text-cleanup.ts';
import { fixMisreadWords } from './word-fixes.ts';

/** Thrown when the page was called off: the caller has already given up on it. */
export class Cancelled extends Error {}

interface Reading {
  lines: Array<{ text: string; confidence: number; latin?: { text: string; confidence: number }; quad: Point[] }>;
  /** Photos and drawings kept out of the text (figures-cpu.ts), corners in the decoded page's pixels. */
  figures?: Point[][];
  /** Clockwise quarter turns (degrees) applied to the decoded page before reading. */
  turn: 0 | 90 | 180 | 270;
  width: number;
  height: number;
}

export async function recognizePage(
  paddle: Paddle,
  job: PageJob,
  opts: WorkerInit,
  cancelled: () => boolean = () => false,
  timings?: Timings,
): Promise<EngineOutput> {
  const stop = () => {
    if (cancelled()) throw new Cancelled();
  };
  let t = performance.now();
  const page = await decode(job.image, opts.maxPixels);
  if (timings) timings.decode = (timings.decode ?? 0) + performance.now() - t;
  stop();
  let reading = await read(paddle, page, 0, opts, stop, timings);
  const turn = suspectedTurn(reading);
  if (timings) timings.turns = (timings.turns ?? 0) + (turn ? 1 : 0);
  if (turn) {
    const again = await read(paddle, await turned(page, turn), turn, opts, stop, timings);
    if (score(again) > score(reading)) reading = again;
  }
  // Each line in the script the request expects, or the page's own (script.ts).
  reading = { ...reading, lines: inScript(reading.lines, job.lang) };
  // Boxes go out in the page's declared size (the rasterizer's), which the decoded image should equal.
  const width = job.width ?? page.width;
  const height = job.height ?? page.height;
  const back = unturn(reading.turn, page.width, page.height);
  const out = (p: Point): Point => {
    const [x, y] = back(p);
    return [(x * width) / page.width, (y * height) / page.height];
  };
  // Layout reads a skewed scan in its own frame, where lines are level and their boxes tight.
  const skew = skewAngle(reading.lines.map((l) => l.quad));
  const level = rotation(-skew, reading.width, reading.height);
  const unlevel = rotation(skew, reading.width, reading.height);
  const cleaned = reading.lines.map((l) => curlyQuotes(bulletMarks(smallCaps(digitsNotLetters(spaceAfterPunctuation(asciiAlnum(l.text)))))));
  // The engine reads English and Chinese; its Latin lines are put right against the English word list.
  const texts = job.lang === 'zh' ? cleaned : fixMisreadWords(cleaned);
  const lines = reading.lines.map((l, i) => ({
    text: texts[i],
    confidence: l.confidence,
    bbox: boxOf(l.quad.map(level)),
    size: lineHeight(l.quad),
  }));
  t = performance.now();
  const { markdown, blocks } = layoutPage(lines, { joinGap: -Infinity, plain: job.task === 'free' });
  if (timings) timings.layout = (timings.layout ?? 0) + performance.now() - t;
  const toPage = (box: BBox) => clampBox(boxOf(corners(box).map((p) => out(unlevel(p)))), width, height);
  for (const b of blocks) {
    b.bbox = toPage(b.bbox);
    // Their lines too: the PDF, hOCR and ALTO outputs place words by them.
    if (b.lines) b.lines = b.lines.map((l) => ({ ...l, bbox: toPage(l.bbox) }));
  }
  const raw = reading.lines.map((l) => ({ text: l.text, bbox: roundBox(boxOf(l.quad.map(out))), confidence: Math.round(l.confidence * 1000) / 1000 }));
  const figured = withFigures(
    markdown,
    blocks,
    (reading.figures ?? []).map((f) => clampBox(boxOf(f.map(out)), width, height)),
    job.page ?? 1,
  );
  return { engine: 'cpu', markdown: figured.markdown, blocks: figured.blocks, raw: JSON.stringify(raw) };
}

async function read(paddle: Paddle, page: Decoded, turn: Reading['turn'], opts: WorkerInit, stop: () => void, timings?: Timings): Promise<Reading> {
  let t = performance.now();
  const [look, rec] = await Promise.all([scaled(page, opts.detSide, 32), scaled(page, opts.recSide, 1)]);
  lap(timings, 'resize', t);
  // A first look at the configured scale: its boxes are read as they are unless the page is
  // skewed or its type too small for them (text-scale.ts), which it also tells.
  const first = await paddle.detect(look, timings);
  stop();
  t = performance.now();
  // Levelled before detecting again only where lines are many (columns whose boxes can join):
  // on short scans the layout's own levelling serves, and a second detection there cost
  // characters (chinese_scan CER 1.1% → 2.2%, 27 boxes; faa_amt_7-45-scan 8.6% → 4.0%, 67).
  const skew = first.length >= LEVEL_LINES ? skewAngle(first.map((q) => q.map(([x, y]) => [x * page.width, y * page.height] as Point))) : 0;
  const ink = await inkImage(rec);
  const blobs = inkBlobs(ink);
  const type = typeHeight(ink, blobs);
  const missed = missedInk(
    blobs,
    type,
    first.map((q) => q.map(([x, y]) => [x * ink.width, y * ink.height] as Point)),
    ink.width,
    ink.height,
  );
  const base = look.width / page.width;
  const scale = detectionScale((type * page.width) / ink.width, missed, base);
  t = lap(timings, 'textScale', t);
  if (opts.adaptive === false || (Math.abs(skew) < MIN_SKEW && scale === base)) return readLines(paddle, first, rec, page, turn, stop, timings);
  if (timings) timings.redetect = (timings.redetect ?? 0) + 1;
  // Boxes are found on the levelled page and mapped back onto the page as it came, where the
  // recogniser cuts its (turned) line crops: one resampling of the ink, not two.
  const level = Math.abs(skew) >= MIN_SKEW ? await levelled(page, skew) : { page, toPage: (p: Point) => p };
  const det = await scaledBy(level.page, scale, 32);
  lap(timings, 'level', t);
  const found = await detectInBands(paddle, det, (DETECT_TYPE * 8) | 0, stop, timings);
  const boxes = found.map(
    (q) =>
      q.map(([x, y]) => {
        const [px, py] = level.toPage([x * level.page.width, y * level.page.height]);
        return [px / page.width, py / page.height];
      }) as Quad,
  );
  return readLines(paddle, boxes, rec, page, turn, stop, timings);
}

/**
 * Boxes of `det` (fractions of its sides), band by band where it is large (tiles.ts): the
 * detector's memory stays at what one band needs. Bands overlap by `overlap` rows, several
 * lines of type at DETECT_TYPE.
 */
async function detectInBands(paddle: Paddle, det: RawImage, overlap: number, stop: () => void, timings?: Timings): Promise<Quad[]> {
  const found = [];
  for (const band of bands(det.width, det.height, BAND_PIXELS, overlap)) {
    const quads = await paddle.detect(bandImage(det, band), timings);
    const h = band.bottom - band.top;
    found.push({ band, quads: quads.map((q) => q.map(([x, y]) => [x * det.width, y * h]) as Quad) });
    stop();
  }
  return mergeBands(found).map((q) => q.map(([x, y]) => [x / det.width, y / det.height]) as Quad);
}

/** First-look boxes a skewed page needs to be levelled and detected again. */
const LEVEL_LINES = 40;

/** Detector input per band: about the size the configured 960 px long side gives a page. */
const BAND_PIXELS = 1_500_000;

/** Reads the lines of `boxes` (fractions of `rec`'s sides); `rec` is `page` scaled. */
async function readLines(
  paddle: Paddle,
  boxes: Quad[],
  rec: RawImage,
  page: Decoded,
  turn: Reading['turn'],
  stop: () => void,
  timings?: Timings,
): Promise<Reading> {
  const found = await paddle.run(boxes, rec, stop, timings);
  const sx = page.width / rec.width;
  const sy = page.height / rec.height;
  const lines = found.map((l) => ({ text: l.text, confidence: l.confidence, latin: l.latin, quad: l.quad.map(([x, y]) => [x * sx, y * sy] as Point) }));
  const figures = found.figures?.map((f) => corners(f).map(([x, y]) => [x * sx, y * sy] as Point));
  return { lines, figures, turn, width: page.width, height: page.height };
}

const lap = (timings: Timings | undefined, stage: string, since: number) => {
  const now = performance.now();
  if (timings) timings[stage] = (timings[stage] ?? 0) + now - since;
  return now;
};

/**
 * A page scanned sideways or upside down without EXIF orientation. Sideways, most boxes are
 * tall; the recogniser turns tall crops a quarter turn itself, so text it then reads well needs
 * the page turned back the other way. Upside down, it reads little, and that with low confidence.
 */
function suspectedTurn(r: Reading): Reading['turn'] {
  if (r.lines.length === 0) return 0;
  const conf = meanConfidence(r);
  if (r.lines.length >= 3 && r.lines.filter(isTall).length >= 0.6 * r.lines.length) return conf >= 0.85 ? 270 : 90;
  return conf < 0.92 ? 180 : 0;
}

const isTall = (l: Reading['lines'][number]) => lineHeight(l.quad) > 1.5 * Math.hypot(l.quad[1][0] - l.quad[0][0], l.quad[1][1] - l.quad[0][1]);

function meanConfidence(r: Reading): number {
  const chars = r.lines.reduce((n, l) => n + l.text.length, 0);
  return chars ? r.lines.reduce((n, l) => n + l.confidence * l.text.length, 0) / chars : 0;
}

/**
 * Confidently read characters on level lines: the better of two readings of one page has more.
 * Tall lines do not count: read sideways, their text may be right but their layout is not.
 */
const score = (r: Reading) => r.lines.reduce((n, l) => n + (isTall(l) ? 0 : l.confidence * l.text.length), 0);

/**
 * The recogniser drops narrow spaces, most visibly after punctuation ("regions.Revenue",
 * "quarter,while"). Restored only where English never omits one: a comma, colon or semicolon
 * between letters after a lowercase letter, or a full stop between a lowercase word and a
 * capitalised one ("e.g.Foo", "3.1", "Node.js" are left alone).
 */
export function spaceAfterPunctuation(text: string): string {
  return text.replace(/(?<=[a-z])([,;:])(?=[A-Za-z])/g, '$1 ').replace(/(?<=[a-z]{2})([.!?])(?=[A-Z][a-z])/g, '$1 ');
}

/**
 * The recogniser reads a round zero in some fonts as the letter ("2o0", "2oo0" for 200, 2000).
 * Inside a number — a word of digits, o/O and separators starting with a digit, optionally
 * with a currency sign, brackets or a per cent sign around it — o and O are zeros.
 */
export function digitsNotLetters(text: string): string {
  return text.replace(/(?<![\p{L}\p{N}])[$€£(]?\d[\doO.,]*[)%]?(?![\p{L}\p{N}])/gu, (w) => (/\d[oO]|[oO]\d/.test(w) ? w.replace(/[oO]/g, '0') : w));
}

/**
 * Small capitals read as lower case where the small letter has the capital's shape (c o s u v w x
 * z): "AGENcY", "ADDREssEs", "cONTAcT". A word of four letters or more, mostly capitals, whose
 * lower-case letters are all of those shapes is in capitals; an acronym's plural s (PDFs, CPUs)
 * a name's Mc (McCOY) and words with any other small letter (PhD) stay as read. "Www." starts no word.
 */
export function smallCaps(text: string): string {
  return text.replace(/(?<![\p{L}\p{N}])Www\.(?=\p{L})/gu, 'www.').replace(/(?<!\p{L})\p{L}{4,}(?!\p{L})/gu, (w) => {
    if (!/^[A-Zcosuvwxz]+$/.test(w) || /^Mc[A-Z]/.test(w)) return w;
    if (/^[A-Z]+s$/.test(w) && !(w.length >= 5 && isWord(w))) return w;
    const small = w.replace(/[A-Z]/g, '').length;
    return small > 0 && 2 * small < w.length ? w.toUpperCase() : w;
  });
}

/**
 * Straight quotes read where print has curly ones. The recogniser reads nearly every apostrophe
 * and closing quote as the straight ASCII one, while typeset text, and whatever a word processor
 * produced, sets ’ “ ”. Changed only where the context is unambiguous: an apostrophe inside a
 * word or closing a small-letter word (don’t, FAA’s, students’; "SENATOR'S" in a capitals-only
 * listing, typed on a terminal, keeps its own), a double quote that closes after a word or
 * punctuation or opens before one, a single quote opening inside a double one (“‘). After a
 * figure both stay: feet and inches (5' 3").
 */
export function curlyQuotes(text: string): string {
  if (!/['"]/.test(text)) return text;
  return text
    .replace(/(?<=\p{L})'(?=\p{Ll})|(?<=\p{Ll})'(?![\p{L}\p{N}])/gu, '’')
    .replace(/(?<=“)'(?=\p{L})/gu, '‘')
    .replace(/(?<=[\p{L}.,;:!?)’])"(?![\p{L}\p{N}])/gu, '”')
    .replace(/(?<![\p{L}\p{N}.,;:!?’])"(?=[\p{L}\p{N}‘'])/gu, '“');
}

/**
 * A list bullet read as a middle dot or a black circle: a lone one at the line's start (alone on
 * the line, or followed by a space) is the bullet "•". A dot inside a line stays (Catalan l·l, "a · b").
 */
export function bulletMarks(text: string): string {
  return text.replace(/^(\s*)[·●∙](?=\s|$)/u, '$1•');
}

/**
 * Full-width Latin letters and digits (the dictionary has both forms; the recogniser sometimes
 * picks "２" amid English) as ASCII. Full-width punctuation stays: Chinese text uses it.
 */
export function asciiAlnum(text: string): string {
  return text.replace(/[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
}
