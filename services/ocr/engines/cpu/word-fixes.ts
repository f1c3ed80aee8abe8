// Words the recogniser misreads in the same few ways, put right where the page leaves no doubt.
// Measured on the real pages (bench/real-pages.ts): the fi and fl ligatures read as a bare f
// ("Offce", "infuenced", "specifc"), h read as b on scans ("bealth", "wbile"), t as f or r
// ("sfudents", "mortaliry"), e as o or c ("achiove", "cducation"), and a capital I as i or l
// inside an acronym ("EiC", "ElC", "PiRLS").
import { isWord } from '../../text-cleanup.ts';

/** What the recogniser wrote → what print had, for words in small letters. */
const SMALL_LETTER_MISREADS: Array<[string, string]> = [
  ['f', 'fi'],
  ['f', 'fl'],
  ['ff', 'ffi'],
  ['ff', 'ffl'],
  ['b', 'h'],
  ['f', 't'],
  ['r', 't'],
  ['o', 'e'],
  ['c', 'e'],
  ['e', 'c'],
  ['n', 'm'],
  ['rn', 'm'],
  ['l', 'i'],
  ['i', 'l'],
];

/** For a capitalised word, only the ligatures and b/h: names (Nora, Walt, Paso) are rarely in the word list. */
const CAPITALISED_MISREADS = SMALL_LETTER_MISREADS.slice(0, 5);

/** The word-list words one misread away from `word`. */
function readings(word: string, misreads: Array<[string, string]>): Set<string> {
  const found = new Set<string>();
  for (const [read, printed] of misreads) {
    for (let at = word.indexOf(read); at >= 0; at = word.indexOf(read, at + 1)) {
      const candidate = word.slice(0, at) + printed + word.slice(at + read.length);
      if (isWord(candidate)) found.add(candidate);
    }
  }
  return found;
}

/** An acronym whose only small letters are i or l has capital I's there (`EiC` → `EIC`, `NiCS` → `NICS`). */
export function fixAcronym(word: string): string {
  const capitals = word.replace(/[^A-Z]/g, '').length;
  return capitals >= 2 && /^[A-Zil]+$/.test(word) && /[il]/.test(word) ? word.replace(/[il]/g, 'I') : word;
}

/**
 * A word of four letters or more (small letters, or capitalised) that is not in the word list and
 * is one misread away from exactly one word that is becomes that word (`Offce` → `Office`); two
 * candidates, or none, leave it as read.
 */
export function fixFromWordList(word: string): string {
  if (word.length < 4 || isWord(word)) return word;
  const capitalised = /^[A-Z][a-z]+$/.test(word);
  if (!capitalised && !/^[a-z]+$/.test(word)) return word;
  const found = readings(capitalised ? word.toLowerCase() : word, capitalised ? CAPITALISED_MISREADS : SMALL_LETTER_MISREADS);
  if (found.size !== 1) return word;
  const [fixed] = found;
  return capitalised ? fixed[0].toUpperCase() + fixed.slice(1) : fixed;
}

// A word stands between spaces or punctuation; letters against a bracket or an apostrophe are a
// piece of one ("[a]ccess", "don’t") and are left alone.
const WORD = /(?<![\p{L}\p{N}[\]'’])[A-Za-z]+(?![\p{L}\p{N}[\]'’])/gu;

/**
 * The lines of one page with misread words put right. A word the page has twice or more, read the
 * same way each time, is not checked against the word list: a name or a term the list lacks is
 * repeated, a misreading rarely is the same twice.
 */
export function fixMisreadWords(lines: string[]): string[] {
  const seen = new Map<string, number>();
  for (const line of lines) for (const [w] of line.matchAll(WORD)) seen.set(w, (seen.get(w) ?? 0) + 1);
  return lines.map((line) =>
    line.replace(WORD, (w) => {
      const acronym = fixAcronym(w);
      return acronym !== w || seen.get(w)! > 1 ? acronym : fixFromWordList(w);
    }),
  );
}
