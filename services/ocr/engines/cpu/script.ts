// The recogniser's dictionary holds both scripts (6,282 Han characters beside ~330 Latin letters,
// digits, punctuation and symbols), and nothing tells it which a page is written in: on English
// pages a Han character now and then wins a time step ("web比ext", "HI食"). Every line is
// therefore decoded twice from the same run (onnx-ctc.ts): over the whole dictionary, and over the
// Latin-script classes only. The request's `lang` picks: `en` the Latin reading, `zh` the whole
// dictionary (Chinese text carries Latin words and digits), `auto` decides from the page.
export type Lang = 'auto' | 'en' | 'zh';

/** Characters an English page never needs: CJK scripts and symbols, full-width forms, Cyrillic look-alikes. */
const NOT_LATIN =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Bopomofo}\p{Script=Cyrillic}\u2460-\u24ff\u2e80-\u33ff\ufe30-\ufe6f\uff00-\uffef]/u;
/** Characters written the width of a Han character (counted as the page's CJK share). */
const WIDE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;

/**
 * Indices of the classes an English reading may use: the CTC blank (0), the space (the last class)
 * and every dictionary entry outside NOT_LATIN.
 */
export function latinClasses(dictionary: string[]): number[] {
  return dictionary.map((c, i) => (i === 0 || i === dictionary.length - 1 || !NOT_LATIN.test(c) ? i : -1)).filter((i) => i >= 0);
}

export interface Reading {
  text: string;
  confidence: number;
}

/**
 * Lines read at least this confidently count towards the page's script: noise (rules, specks,
 * photos) reads as scattered Han characters with low confidence.
 */
const SURE = 0.8;
/** A page whose confidently read characters are at least this share CJK is a CJK page. */
const CJK_PAGE = 0.1;

const wideShare = (text: string) => {
  const chars = [...text.replace(/\s+/g, '')];
  return { wide: chars.filter((c) => WIDE.test(c)).length, all: chars.length };
};

/** True when the page's confidently read characters are CJK enough to read it over the whole dictionary. */
export function isCjkPage(lines: Reading[]): boolean {
  let wide = 0;
  let all = 0;
  for (const l of lines) {
    if (l.confidence < SURE) continue;
    const s = wideShare(l.text);
    wide += s.wide;
    all += s.all;
  }
  return all > 0 && wide / all >= CJK_PAGE;
}

/**
 * A line that is itself CJK (a Chinese line quoted on an English page): read confidently, three
 * or more wide characters, at least half of it. Two wide characters read off a figure or a
 * photo on an English scan ("北具") are not enough.
 */
const isCjkLine = (l: Reading) => {
  const s = wideShare(l.text);
  return l.confidence >= SURE && s.wide >= 3 && s.wide * 2 >= s.all;
};

/**
 * Each line's text in the expected script. `latin` is the line read over latinClasses (absent:
 * the line keeps its reading). Lines whose Latin reading is empty are dropped under `en`.
 */
export function inScript<L extends Reading & { latin?: Reading }>(lines: L[], lang: Lang = 'auto'): L[] {
  if (lang === 'zh') return lines;
  const cjkPage = lang === 'auto' && isCjkPage(lines);
  if (cjkPage) return lines;
  const out: L[] = [];
  for (const l of lines) {
    if (!l.latin || (lang === 'auto' && isCjkLine(l))) out.push(l);
    else if (l.latin.text.trim() !== '') out.push({ ...l, text: l.latin.text, confidence: l.latin.confidence });
  }
  return out;
}
