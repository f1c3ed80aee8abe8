/**
 * Page ranges as users type them: "1-3,5,8-" (1-based, inclusive, open end allowed).
 * parsePageRange returns null for malformed input; selectPages applies a range to a page count.
 */
export type PageRange = Array<{ from: number; to: number | null }>;

export function parsePageRange(spec: string): PageRange | null {
  const parts = spec
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0) return null;
  const out: PageRange = [];
  for (const part of parts) {
    const m = /^(\d+)(?:\s*-\s*(\d*))?$/.exec(part);
    if (!m) return null;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : m[2] === '' ? null : Number(m[2]);
    if (from < 1 || (to !== null && to < from)) return null;
    out.push({ from, to });
  }
  return out;
}

/** The selected 1-based page numbers, ascending and unique; all pages when no range is given. */
export function selectPages(spec: string | undefined, pageCount: number): number[] {
  if (!spec) return Array.from({ length: pageCount }, (_, i) => i + 1);
  const range = parsePageRange(spec) ?? [];
  const chosen = new Set<number>();
  for (const { from, to } of range) {
    for (let p = from; p <= Math.min(to ?? pageCount, pageCount); p++) chosen.add(p);
  }
  return [...chosen].sort((a, b) => a - b);
}
