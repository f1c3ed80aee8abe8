// Character error rate as the platform notes measure it: whitespace ignored, so line breaks,
// column gaps and table padding do not count, only the characters read.

/** Levenshtein distance over Unicode code points. */
export function levenshtein(a: string, b: string): number {
  return tokenDistance([...a], [...b]);
}

const squeeze = (s: string) => s.normalize('NFC').replace(/\s+/gu, '');

/** Edit distance / reference length, both with all whitespace removed. */
export function cer(hypothesis: string, reference: string): number {
  const ref = squeeze(reference);
  const hyp = squeeze(hypothesis);
  if (ref.length === 0) return hyp.length === 0 ? 0 : 1;
  return levenshtein(hyp, [...ref].join('')) / [...ref].length;
}

/** Like cer, but word spaces count: whitespace runs become one space (catches "steadygrowth"). */
export function spacedCer(hypothesis: string, reference: string): number {
  const norm = (s: string) => s.normalize('NFC').replace(/\s+/gu, ' ').trim();
  const ref = norm(reference);
  if (ref.length === 0) return norm(hypothesis).length === 0 ? 0 : 1;
  return levenshtein(norm(hypothesis), ref) / [...ref].length;
}

/**
 * Markdown → the plain text a reader sees: drops heading marks, table pipes and separator rows,
 * emphasis, bullets, rules and HTML comments, so output can be compared with *.gt.txt.
 */
export function stripMarkdown(md: string): string {
  return md
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .split('\n')
    .map((line) => {
      const l = line.trim();
      if (/^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$/.test(l)) return ''; // table separator row
      if (/^([-*_]\s*){3,}$/.test(l)) return ''; // thematic break
      return (
        l
          // A figure link is a picture, not text the page reads: only its alt text counts.
          .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
          .replace(/^#{1,6}\s+/, '')
          .replace(/^>\s?/, '')
          .replace(/^[-*+]\s+/, '')
          .replace(/\s*(?<!\\)\|\s*/g, ' ')
          .replace(/(\*\*|__)(.+?)\1/g, '$2')
          .replace(/\\([\\`*_{}[\]()#+\-.!|])/g, '$1')
          .trim()
      );
    })
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

// ---------- word, spacing and reading-order measures (the CPU engine's quality benchmark) ----------

/** Levenshtein distance over token arrays (code points or words; two-row DP). */
function tokenDistance(s: string[], t: string[]): number {
  if (s.length === 0) return t.length;
  if (t.length === 0) return s.length;
  let prev = new Uint32Array(t.length + 1);
  let cur = new Uint32Array(t.length + 1);
  for (let j = 0; j <= t.length; j++) prev[j] = j;
  for (let i = 1; i <= s.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= t.length; j++) cur[j] = Math.min(prev[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1), prev[j] + 1, cur[j - 1] + 1);
    [prev, cur] = [cur, prev];
  }
  return prev[t.length];
}

const words = (s: string) => s.normalize('NFC').split(/\s+/u).filter(Boolean);

/**
 * Word error rate: word edits / reference words, words being whitespace-separated tokens with
 * their punctuation. A merged pair ("comparedwith") costs two, a lost digit one.
 */
export function wer(hypothesis: string, reference: string): number {
  const ref = words(reference);
  if (ref.length === 0) return words(hypothesis).length === 0 ? 0 : 1;
  return tokenDistance(words(hypothesis), ref) / ref.length;
}

/**
 * The order-blind part of cer: characters missing or extra whatever the order (whitespace
 * ignored), as a fraction of the reference. cer minus this is what reading order costs: a page
 * read perfectly but with its columns interleaved has bagError 0 and a large cer.
 */
export function bagError(hypothesis: string, reference: string): number {
  const ref = [...squeeze(reference)];
  if (ref.length === 0) return squeeze(hypothesis).length === 0 ? 0 : 1;
  const count = new Map<string, number>();
  for (const c of ref) count.set(c, (count.get(c) ?? 0) + 1);
  for (const c of squeeze(hypothesis)) count.set(c, (count.get(c) ?? 0) - 1);
  let missing = 0;
  let extra = 0;
  for (const n of count.values()) n > 0 ? (missing += n) : (extra -= n);
  return Math.max(missing, extra) / ref.length;
}

/** Raw edit counts, so a benchmark can pool pages (total edits / total reference) instead of averaging rates. */
export function editCounts(hypothesis: string, reference: string) {
  const ref = squeeze(reference);
  const spaced = (s: string) => s.normalize('NFC').replace(/\s+/gu, ' ').trim();
  return {
    chars: [...ref].length,
    charEdits: levenshtein(squeeze(hypothesis), ref),
    spacedChars: [...spaced(reference)].length,
    spacedEdits: levenshtein(spaced(hypothesis), spaced(reference)),
    words: words(reference).length,
    wordEdits: tokenDistance(words(hypothesis), words(reference)),
    bagEdits: Math.round(bagError(hypothesis, reference) * [...ref].length),
  };
}
