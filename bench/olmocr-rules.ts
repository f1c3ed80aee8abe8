// Unit tests of the olmOCR-Bench kind, scored by its published rules (allenai/olmocr,
// olmocr/bench/tests.py and table_parsing.py), in TypeScript so the real-page benchmark needs no
// Python packages:
// - every text is normalised first: <br> → space, **bold**/__bold__/*italic*/_italic_ and <b>/<i>
//   marks dropped, whitespace runs → one space, NFC, curly quotes → ASCII, en/em/minus dashes → '-',
//   micro sign → Greek mu;
// - present / absent: rapidfuzz's partial_ratio of the phrase against the page (the best
//   window of the page as long as the phrase, similarity 2·LCS / (|a|+|b|)) must reach
//   1 − max_diffs / |phrase| (present) or stay under it (absent); a page shorter than
//   |phrase| − max_diffs passes absent and fails present; first_n / last_n look only there;
// - order: some fuzzy match of `before` (Levenshtein ≤ max_diffs, fuzzysearch's
//   find_near_matches) starts before some match of `after`;
// - table: some cell of some Markdown pipe table or HTML table matches `cell` (similarity ≥
//   max(0.5, 1 − max_diffs / |cell|)) and each given neighbour (up, down, left, right) or heading
//   (top_heading: walking up to the header row; left_heading: walking left to the first column)
//   matches likewise. A Markdown table's first row and first column are its headings; an HTML
//   table's <th> cells and <thead> rows.

export interface BaseTest {
  id: string;
  /** The page the test belongs to (file name without extension, e.g. fedreg_p1). */
  page: string;
  max_diffs?: number;
  /** Why the test exists (for people reading a failure). */
  note?: string;
}
export interface PresenceTest extends BaseTest {
  type: 'present' | 'absent';
  text: string;
  case_sensitive?: boolean;
  first_n?: number;
  last_n?: number;
}
export interface OrderTest extends BaseTest {
  type: 'order';
  before: string;
  after: string;
}
export interface TableTest extends BaseTest {
  type: 'table';
  cell: string;
  up?: string;
  down?: string;
  left?: string;
  right?: string;
  top_heading?: string;
  left_heading?: string;
}
export type PageTest = PresenceTest | OrderTest | TableTest;

export interface Verdict {
  passed: boolean;
  why: string;
}

const REPLACE: Record<string, string> = {
  '‘': "'",
  '’': "'",
  '‚': "'",
  '“': '"',
  '”': '"',
  '„': '"',
  '＿': '_',
  '–': '-',
  '—': '-',
  '‑': '-',
  '‒': '-',
  '−': '-',
  '\u00b5': '\u03bc',
};

/** olmOCR-Bench's normalize_text. */
export function normalizeText(s: string): string {
  let t = s.replace(/<br\/?>/g, ' ');
  t = t
    .replace(/\*\*(.*?)\*\*/g, '$1')
    .replace(/__(.*?)__/g, '$1')
    .replace(/<\/?b>/g, '')
    .replace(/<\/?i>/g, '');
  t = t.replace(/(\*\*|__)(.*?)\1/g, '$2').replace(/(\*|_)(.*?)\1/g, '$2');
  t = t.replace(/\s+/g, ' ').normalize('NFC');
  return t.replace(/[‘’‚“”„＿–—‑‒−\u00b5]/g, (c) => REPLACE[c]);
}

/** Longest common subsequence length of two code-unit arrays (two-row DP). */
function lcs(a: string, b: string): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) cur[j] = ca === b.charCodeAt(j - 1) ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** rapidfuzz fuzz.ratio / 100: 2·LCS / (|a| + |b|) (1 when both are empty). */
export function ratio(a: string, b: string): number {
  if (a.length + b.length === 0) return 1;
  return (2 * lcs(a, b)) / (a.length + b.length);
}

/**
 * Least InDel distance (insertions and deletions only) of `needle` against any substring of
 * `hay` ending at each position j (hay[..j]), Sellers' semi-global DP. Bounds every window's
 * partial ratio from above, so only windows that can reach a threshold are scored exactly.
 */
function indelEnds(needle: string, hay: string): Uint32Array {
  const m = needle.length;
  let col = new Uint32Array(m + 1);
  let next = new Uint32Array(m + 1);
  for (let i = 0; i <= m; i++) col[i] = i;
  const ends = new Uint32Array(hay.length);
  for (let j = 1; j <= hay.length; j++) {
    const c = hay.charCodeAt(j - 1);
    next[0] = 0;
    for (let i = 1; i <= m; i++) next[i] = needle.charCodeAt(i - 1) === c ? col[i - 1] : Math.min(col[i], next[i - 1]) + 1;
    ends[j - 1] = next[m];
    [col, next] = [next, col];
  }
  return ends;
}

/**
 * rapidfuzz fuzz.partial_ratio / 100 when it matters: the best ratio of the shorter string
 * against every window of the longer as long as it (and the shorter windows at both ends). Only
 * windows that could reach `atLeast` are scored: under it the answer may be lower than rapidfuzz's.
 */
export function partialRatio(a: string, b: string, atLeast = 0): number {
  const [needle, hay] = a.length <= b.length ? [a, b] : [b, a];
  const m = needle.length;
  if (m === 0) return hay.length === 0 ? 1 : 0;
  const ends = indelEnds(needle, hay);
  // A window ending at j has InDel ≥ ends[j] and length ≤ m, so ratio ≤ 1 − ends[j] / (2m).
  const bound = Math.max(0, 2 * m * (1 - atLeast));
  let best = 0;
  for (let j = 0; j < hay.length; j++) {
    if (ends[j] > bound + 1e-9 || 1 - ends[j] / (2 * m) <= best) continue;
    const end = j + 1;
    // Full window ending here, and the short windows at the page's start and end.
    best = Math.max(best, ratio(needle, hay.slice(Math.max(0, end - m), end)));
    if (end === hay.length) for (let s = Math.max(0, hay.length - m) + 1; s < hay.length; s++) best = Math.max(best, ratio(needle, hay.slice(s)));
    if (best >= 1) break;
  }
  return best;
}

/**
 * Start positions of every fuzzy occurrence of `needle` in `hay` with Levenshtein distance at
 * most k (what fuzzysearch's find_near_matches finds, as start positions).
 */
export function nearMatchStarts(needle: string, hay: string, k: number): number[] {
  // Occurrences ending at j are found left to right; their starts are the ends of the reversed search.
  const rn = [...needle].reverse().join('');
  const rh = [...hay].reverse().join('');
  const m = rn.length;
  let col = new Uint32Array(m + 1);
  let next = new Uint32Array(m + 1);
  for (let i = 0; i <= m; i++) col[i] = i;
  const starts: number[] = [];
  for (let j = 1; j <= rh.length; j++) {
    const c = rh.charCodeAt(j - 1);
    next[0] = 0;
    for (let i = 1; i <= m; i++) next[i] = Math.min(col[i - 1] + (rn.charCodeAt(i - 1) === c ? 0 : 1), col[i] + 1, next[i - 1] + 1);
    if (next[m] <= k) starts.push(rh.length - j);
    [col, next] = [next, col];
  }
  return starts.reverse();
}

// ---------- tables ----------

type CellId = string; // "row,col"
export interface TableData {
  text: Map<CellId, string>;
  heading: Set<CellId>;
  up: Map<CellId, Set<CellId>>;
  down: Map<CellId, Set<CellId>>;
  left: Map<CellId, Set<CellId>>;
  right: Map<CellId, Set<CellId>>;
}
interface CellSpec {
  text: string;
  rowspan: number;
  colspan: number;
  heading: boolean;
}

function buildTable(rows: CellSpec[][]): TableData | undefined {
  const text = new Map<CellId, string>();
  const heading = new Set<CellId>();
  const meta = new Map<CellId, { row: number; col: number; rowspan: number; colspan: number }>();
  const occupancy: Array<Array<CellId | undefined>> = [];
  let active: Array<[CellId, number] | undefined> = [];
  rows.forEach((cells, r) => {
    const entries: Array<CellId | undefined> = [];
    let col = 0;
    let k = 0;
    while (k < cells.length || col < active.length) {
      const span = active[col];
      if (span) {
        entries.push(span[0]);
        active[col] = span[1] > 1 ? [span[0], span[1] - 1] : undefined;
        col++;
        continue;
      }
      if (k >= cells.length) {
        entries.push(undefined);
        col++;
        continue;
      }
      const c = cells[k++];
      const id = `${r},${col}`;
      text.set(id, c.text);
      if (c.heading) heading.add(id);
      meta.set(id, { row: r, col, rowspan: c.rowspan, colspan: c.colspan });
      for (let o = 0; o < c.colspan; o++) {
        entries.push(id);
        if (active.length < col + o + 1) active.length = col + o + 1;
        active[col + o] = c.rowspan > 1 ? [id, c.rowspan - 1] : undefined;
      }
      col += c.colspan;
    }
    occupancy.push(entries);
  });
  while (active.some(Boolean)) {
    occupancy.push(active.map((s) => s?.[0]));
    active = active.map((s) => (s && s[1] > 1 ? [s[0], s[1] - 1] : undefined));
  }
  if (text.size === 0) return undefined;
  const width = Math.max(0, ...occupancy.map((row) => row.reduce((w, v, i) => (v ? i + 1 : w), 0)));
  for (const row of occupancy) row.length = width;
  const rel = () => new Map<CellId, Set<CellId>>([...text.keys()].map((id) => [id, new Set<CellId>()]));
  const t: TableData = { text, heading, up: rel(), down: rel(), left: rel(), right: rel() };
  const at = (r: number, c: number) => occupancy[r]?.[c];
  for (const [id, m] of meta) {
    const rowEnd = m.row + m.rowspan - 1;
    const colEnd = m.col + m.colspan - 1;
    const look = (set: Set<CellId>, rs: number[], step: (r: number, c: number) => [number, number], r0: (r: number) => [number, number]) => {
      for (const r of rs) {
        let [rr, cc] = r0(r);
        while (rr >= 0 && rr < occupancy.length && cc >= 0 && cc < width) {
          const n = at(rr, cc);
          if (n && n !== id) {
            set.add(n);
            break;
          }
          [rr, cc] = step(rr, cc);
        }
      }
    };
    const rowsOf = Array.from({ length: m.rowspan }, (_, i) => m.row + i);
    const colsOf = Array.from({ length: m.colspan }, (_, i) => m.col + i);
    look(
      t.right.get(id)!,
      rowsOf,
      (r, c) => [r, c + 1],
      (r) => [r, colEnd + 1],
    );
    look(
      t.left.get(id)!,
      rowsOf,
      (r, c) => [r, c - 1],
      (r) => [r, m.col - 1],
    );
    look(
      t.down.get(id)!,
      colsOf,
      (r, c) => [r + 1, c],
      (c) => [rowEnd + 1, c],
    );
    look(
      t.up.get(id)!,
      colsOf,
      (r, c) => [r - 1, c],
      (c) => [m.row - 1, c],
    );
  }
  return t;
}

/** Heading cells met walking from `start` along `relation`; the walk's end cells when none. */
function headings(t: TableData, start: CellId, relation: Map<CellId, Set<CellId>>): Set<CellId> {
  const found = new Set<CellId>();
  const ends = new Set<CellId>();
  const seen = new Set<CellId>();
  const todo = [start];
  while (todo.length) {
    const cur = todo.pop()!;
    if (seen.has(cur)) continue;
    seen.add(cur);
    if (t.heading.has(cur)) found.add(cur);
    const next = relation.get(cur);
    if (!next || next.size === 0) ends.add(cur);
    else todo.push(...next);
  }
  found.delete(start);
  ends.delete(start);
  return found.size ? found : ends;
}

/** Pipe tables: runs of lines holding '|' (two or more), the dash row dropped; first row and column are headings. */
export function parseMarkdownTables(md: string): TableData[] {
  const out: TableData[] = [];
  const flush = (lines: string[]) => {
    if (lines.length < 2) return;
    const sep = lines.findIndex((l) => {
      const c = l.replace(/\|/g, '').trim();
      return c !== '' && /^[- :]+$/.test(c);
    });
    const rows: string[][] = [];
    lines.forEach((line, i) => {
      if (i === sep || (line.trim() && /^[- :|]+$/.test(line))) return;
      let cells = line.split('|').map((c) => c.trim());
      if (cells[0] === '') cells = cells.slice(1);
      if (cells.at(-1) === '') cells = cells.slice(0, -1);
      if (cells.length) rows.push(cells);
    });
    if (rows.length === 0) return;
    const t = buildTable(rows.map((r, ri) => r.map((text, ci) => ({ text, rowspan: 1, colspan: 1, heading: ri === 0 || ci === 0 }))));
    if (t) out.push(t);
  };
  let cur: string[] = [];
  for (const line of md.trim().split('\n')) {
    if (line.includes('|')) cur.push(line);
    else {
      flush(cur);
      cur = [];
    }
  }
  flush(cur);
  return out;
}

const span = (attrs: string, name: string, rest: number) => {
  const m = new RegExp(`${name}\\s*=\\s*["']?(\\d+)`, 'i').exec(attrs);
  if (!m) return 1;
  const v = Number(m[1]);
  return v === 0 && name === 'rowspan' ? Math.max(1, rest) : Math.max(1, v || 1);
};
const stripTags = (s: string) =>
  s
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();

/** HTML tables (not nested): <th> cells and rows inside <thead> are headings; rowspan/colspan honoured. */
export function parseHtmlTables(html: string): TableData[] {
  const out: TableData[] = [];
  for (const table of html.matchAll(/<table\b[^>]*>([\s\S]*?)<\/table>/gi)) {
    const body = table[1];
    const rowMatches = [...body.matchAll(/<tr\b[^>]*>([\s\S]*?)(?=<tr\b|<\/tbody>|<\/thead>|<\/tfoot>|$)/gi)];
    const theadEnd = body.search(/<\/thead>/i);
    const rows = rowMatches.map((row, ri) =>
      [...row[1].matchAll(/<(td|th)\b([^>]*)>([\s\S]*?)(?=<td\b|<th\b|<\/tr>|$)/gi)].map((c) => ({
        text: stripTags(c[3].replace(/<\/t[dh]>\s*$/i, '')),
        rowspan: span(c[2], 'rowspan', rowMatches.length - ri),
        colspan: span(c[2], 'colspan', 1),
        heading: c[1].toLowerCase() === 'th' || (theadEnd >= 0 && (row.index ?? 0) < theadEnd),
      })),
    );
    const t = buildTable(rows);
    if (t) out.push(t);
  }
  return out;
}

// ---------- running a test ----------

export function runTest(test: PageTest, content: string): Verdict {
  const k = test.max_diffs ?? 0;
  if (test.type === 'present' || test.type === 'absent') {
    let query = normalizeText(test.text);
    let md = normalizeText(content);
    if (test.case_sensitive === false) {
      query = query.toLowerCase();
      md = md.toLowerCase();
    }
    if (test.first_n && test.last_n) md = md.slice(0, test.first_n) + md.slice(-test.last_n);
    else if (test.first_n) md = md.slice(0, test.first_n);
    else if (test.last_n) md = md.slice(-test.last_n);
    if (md.length < query.length - k)
      return test.type === 'present' ? { passed: false, why: `output too short for '${query.slice(0, 40)}'` } : { passed: true, why: '' };
    const threshold = 1 - k / (query.length || 1);
    const best = partialRatio(query, md, threshold);
    const found = best >= threshold - 1e-12;
    if (test.type === 'present')
      return found
        ? { passed: true, why: '' }
        : {
            passed: false,
            why: `'${query.slice(0, 40)}' not found within ${k} edits${best > 0 ? ` (best ${best.toFixed(3)} < ${threshold.toFixed(3)})` : ''}`,
          };
    return found ? { passed: false, why: `'${query.slice(0, 40)}' is present (best ${best.toFixed(3)})` } : { passed: true, why: '' };
  }
  if (test.type === 'order') {
    const md = normalizeText(content);
    const before = nearMatchStarts(normalizeText(test.before), md, k);
    const after = nearMatchStarts(normalizeText(test.after), md, k);
    if (before.length === 0) return { passed: false, why: `'before' text '${test.before.slice(0, 40)}' not found` };
    if (after.length === 0) return { passed: false, why: `'after' text '${test.after.slice(0, 40)}' not found` };
    return before[0] < after[after.length - 1]
      ? { passed: true, why: '' }
      : { passed: false, why: `'${test.before.slice(0, 30)}' does not come before '${test.after.slice(0, 30)}'` };
  }
  return runTableTest(test as TableTest, content);
}

function runTableTest(test: TableTest, content: string): Verdict {
  const k = test.max_diffs ?? 0;
  const cell = normalizeText(test.cell);
  const tables = [...parseMarkdownTables(content), ...parseHtmlTables(content)];
  if (tables.length === 0) return { passed: false, why: 'no table in the output' };
  const enough = (want: string, got: string) => ratio(want, normalizeText(got)) >= Math.max(0.5, 1 - k / (want.length || 1));
  const reasons: string[] = [];
  for (const t of tables) {
    for (const [id, text] of t.text) {
      if (!enough(cell, text)) continue;
      const checks: Array<[string | undefined, () => Set<CellId>]> = [
        [test.up, () => t.up.get(id)!],
        [test.down, () => t.down.get(id)!],
        [test.left, () => t.left.get(id)!],
        [test.right, () => t.right.get(id)!],
        [test.top_heading, () => headings(t, id, t.up)],
        [test.left_heading, () => headings(t, id, t.left)],
      ];
      const failed = checks.filter(([want, cells]) => want && ![...cells()].some((c) => enough(normalizeText(want), t.text.get(c)!)));
      if (failed.length === 0) return { passed: true, why: '' };
      reasons.push(`a cell '${text.slice(0, 30)}' matched but not its neighbours (${failed.map(([w]) => w).join(', ')})`);
    }
  }
  return { passed: false, why: reasons.length ? reasons.slice(0, 2).join('; ') : `no cell matches '${cell.slice(0, 30)}'` };
}

/** Pass counts of a set of tests on one output per page. */
export function scoreTests(tests: PageTest[], outputs: Record<string, string>) {
  const byType: Record<string, { passed: number; total: number }> = {};
  const failures: Array<{ id: string; why: string }> = [];
  let passed = 0;
  let total = 0;
  for (const t of tests) {
    const md = outputs[t.page];
    if (md === undefined) continue;
    const v = runTest(t, md);
    const b = (byType[t.type] ??= { passed: 0, total: 0 });
    b.total++;
    total++;
    if (v.passed) {
      b.passed++;
      passed++;
    } else failures.push({ id: t.id, why: v.why });
  }
  return { passed, total, rate: total ? Math.round((passed / total) * 1000) / 10 : 0, byType, failures };
}
