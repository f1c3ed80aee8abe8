// Text clean-up shared by the CPU engine and PDF text layers: accents composed (Unicode NFC,
// spacing accents included) and line-end hyphens joined where the joined word is a word.
import { readFileSync } from 'node:fs';
import wordListPath from 'word-list';

/**
 * Spacing accents → their combining marks. TeX and other producers draw an accent as its own
 * glyph beside the letter, so a text layer gives `J´an Min´aˇc` for `Ján Mináč`. ASCII ` ^ ~
 * are left out: they are text in their own right (quotes, code, maths).
 */
const SPACING: Record<string, string> = {
  '\u00b4': '\u0301', // ´ acute
  '\u02ca': '\u0301',
  '\u02cb': '\u0300', // ˋ grave
  '\u00a8': '\u0308', // ¨ diaeresis
  '\u02c6': '\u0302', // ˆ circumflex
  '\u02dc': '\u0303', // ˜ tilde
  '\u02c7': '\u030c', // ˇ caron
  '\u02d8': '\u0306', // ˘ breve
  '\u02d9': '\u0307', // ˙ dot above
  '\u02da': '\u030a', // ˚ ring
  '\u00b8': '\u0327', // ¸ cedilla
  '\u02db': '\u0328', // ˛ ogonek
  '\u02dd': '\u030b', // ˝ double acute
  '\u00af': '\u0304', // ¯ macron
};
const MARK = new RegExp(`[${Object.keys(SPACING).join('')}]`, 'u');

/** A letter and a combining mark that Unicode composes into one character, or null. */
function composed(letter: string, mark: string): string | null {
  const c = (letter + mark).normalize('NFC');
  return [...c].length === 1 ? c : null;
}

/**
 * NFC, and each spacing accent next to a letter it composes with put on that letter: the letter
 * after it first (how producers place an accent: before the glyph it sits on), else the one before.
 */
export function composeAccents(text: string): string {
  const nfc = text.normalize('NFC');
  if (!MARK.test(nfc)) return nfc;
  const cs = [...nfc];
  const out: string[] = [];
  for (let i = 0; i < cs.length; i++) {
    const mark = SPACING[cs[i]];
    if (!mark) {
      out.push(cs[i]);
      continue;
    }
    // An acute between a word and an English ending is an apostrophe typed wrong (it´s, don´t).
    const apostrophe =
      cs[i] === '\u00b4' && out.length > 0 && /\p{L}/u.test(out[out.length - 1]) && /^(?:s|t|d|m|ll|re|ve)(?!\p{L})/u.test(cs.slice(i + 1, i + 4).join(''));
    const next = !apostrophe && i + 1 < cs.length && /\p{L}/u.test(cs[i + 1]) ? composed(cs[i + 1], mark) : null;
    if (next) {
      out.push(next);
      i++;
      continue;
    }
    const prev = out.length && /\p{L}/u.test(out[out.length - 1]) ? composed(out[out.length - 1], mark) : null;
    if (prev) out[out.length - 1] = prev;
    else out.push(cs[i]);
  }
  return out.join('');
}

// ---------- line-end hyphens ----------

/**
 * word-list (MIT, 274k words, British and American spellings) kept as its one sorted string with
 * line offsets, searched by halving: ~4 MB per thread where a Set of the words takes ~23 MB.
 * Loaded on the first hyphen that needs it.
 */
let dict: { text: string; starts: Uint32Array; extra: Set<string> } | undefined;

function dictionary() {
  if (dict) return dict;
  const text = readFileSync(wordListPath, 'utf8');
  const starts: number[] = [];
  const extra = new Set<string>(); // the few words out of code-point order (binary search would miss them)
  let prev = '';
  for (let at = 0; at < text.length;) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const w = text.slice(at, end);
    if (w && w > prev) {
      starts.push(at);
      prev = w;
    } else if (w) extra.add(w);
    at = end + 1;
  }
  dict = { text, starts: Uint32Array.from(starts), extra };
  return dict;
}

function listed(word: string): boolean {
  const { text, starts, extra } = dictionary();
  if (extra.has(word)) return true;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const end = text.indexOf('\n', starts[mid]);
    const w = text.slice(starts[mid], end < 0 ? text.length : end);
    if (w === word) return true;
    if (w < word) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** In the word list (lower-cased; the list has no capitals), possibly as a plural or possessive. */
export function isWord(word: string): boolean {
  const w = word.toLowerCase().replace(/['’]s$/, '');
  if (w.length < 2 || !/^\p{L}+$/u.test(w)) return false;
  return listed(w) || (w.endsWith('s') && listed(w.slice(0, -1)));
}

/** Words a document uses, to settle hyphens the word list cannot: its own spelling wins. */
export interface Vocabulary {
  /** Lower-cased words seen whole. */
  words: Set<string>;
  /** Lower-cased hyphenated words seen within a line (`well-known`). */
  hyphenated: Set<string>;
}

export function vocabularyOf(lines: Iterable<string>): Vocabulary {
  const words = new Set<string>();
  const hyphenated = new Set<string>();
  for (const line of lines) {
    // The last word of a line may be a fragment ("irretrie-"): only what lies inside counts.
    for (const m of line.matchAll(/\p{L}+(?:-\p{L}+)*/gu)) {
      if (m.index! + m[0].length >= line.trimEnd().length - 1) continue;
      const w = m[0].toLowerCase();
      if (w.includes('-')) hyphenated.add(w);
      else if (m.index! > 0) words.add(w); // a line's first word may be a fragment's tail
    }
  }
  return { words, hyphenated };
}

const HYPHENS = /[-\u00ad\u2010]$/;

/**
 * Joins two printed lines of one paragraph. A line-end hyphen is a break inside a word
 * (`irretrie-` `vably`) unless the document writes the word with its hyphen, both halves are
 * words and the whole is not (`self-` `employed`, `well-` `known`), or the next line goes on with
 * a capital (`non-` `Hispanic`). A soft hyphen is always a break.
 * Returns null where the lines do not meet at a hyphen.
 */
export function joinHyphenated(left: string, right: string, vocab?: Vocabulary): string | null {
  if (!HYPHENS.test(left)) return null;
  const head = /(\p{L}+)[-\u00ad\u2010]$/u.exec(left);
  if (!head) return null;
  const before = left.slice(0, -1);
  if (left.endsWith('\u00ad') && /^\p{L}/u.test(right)) return before + right;
  // Before a capital the hyphen is a compound's (`non-` `Hispanic`, `Tejada-` `Vera`, `Self-` `Locking`):
  // kept, and no space put in.
  if (/^\p{Lu}/u.test(right)) return left + right;
  const tail = /^(\p{Ll}+)/u.exec(right);
  if (!tail) return null;
  const [a, b] = [head[1], tail[1]];
  const whole = (a + b).toLowerCase();
  const keep = left + right;
  const drop = before + right;
  if (vocab?.hyphenated.has(`${a}-${b}`.toLowerCase())) return keep;
  if (vocab?.words.has(whole)) return drop;
  // A hyphen after a number or a capital-only piece (`COVID-` `related`) is part of a compound.
  if (/\p{N}-$/u.test(left) || (a.length > 1 && a === a.toUpperCase())) return keep;
  if (isWord(a + b)) return drop;
  if (isWord(a) && isWord(b)) return keep;
  return drop;
}

/**
 * Plain text with printed line breaks → the same text with line-end hyphens joined as the layout
 * joins them (the next line's first word moves up). For scoring against truths that keep them.
 */
export function joinLineEndHyphens(text: string): string {
  const lines = text.split('\n');
  const vocab = vocabularyOf(lines);
  for (let i = 0; i + 1 < lines.length; i++) {
    const next = lines[i + 1].trimStart();
    const word = /^\S+/.exec(next)?.[0] ?? '';
    const joined = joinHyphenated(lines[i].trimEnd(), word, vocab);
    if (joined === null) continue;
    lines[i] = joined;
    lines[i + 1] = next.slice(word.length).trimStart();
  }
  return lines.join('\n');
}
