// Character error rate as the platform notes measure it: whitespace ignored, so line breaks,
// column gaps and table padding do not count, only the characters read.

/** Levenshtein distance over Unicode code points (two-row DP). */
export function levenshtein(a: string, b: string): number {
  const s = [...a];
  const t = [...b];
  if (s.length === 0) return t.length;
  if (t.length === 0) return s.length;
  let prev = new Uint32Array(t.length + 1);
  let cur = new Uint32Array(t.length + 1);
  for (let j = 0; j <= t.length; j++) prev[j] = j;
  for (let i = 1; i <= s.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= t.length; j++) {
      const sub = prev[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1);
      cur[j] = Math.min(sub, prev[j] + 1, cur[j - 1] + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[t.length];
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
      return l
        .replace(/^#{1,6}\s+/, '')
        .replace(/^>\s?/, '')
        .replace(/^[-*+]\s+/, '')
        .replace(/\s*(?<!\\)\|\s*/g, ' ')
        .replace(/(\*\*|__)(.+?)\1/g, '$2')
        .replace(/\\([\\`*_{}[\]()#+\-.!|])/g, '$1')
        .trim();
    })
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
