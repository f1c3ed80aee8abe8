/**
 * Reads an HTML `<table>` as the models write it (DeepSeek-OCR: `<table><tr><td rowspan=2>…`) into a
 * rectangular grid of cell texts, rowspan/colspan expanded (a spanned cell's text repeats in every
 * slot it covers, so each row of the grid reads on its own). Pure and forgiving: models leave tags
 * unclosed, omit quotes and skip `<tbody>`; this never throws.
 */

export interface ParsedHtmlTable {
  /** rows × columns, every row the same length. */
  grid: string[][];
  /** Index of rows that were written as header rows (`<th>` cells only, or inside `<thead>`). */
  headerRows: number[];
  /** The largest rowspan in the first row: a two-level header spans its first cells over both levels. */
  firstRowDepth: number;
}

const TABLE = /<table\b[^>]*>([\s\S]*?)(?:<\/table\s*>|$)/gi;

/** Every `<table>…</table>` in the text, in order (an unclosed last table runs to the end). */
export function findHtmlTables(text: string): Array<{ html: string; start: number; end: number }> {
  const out: Array<{ html: string; start: number; end: number }> = [];
  for (const m of text.matchAll(TABLE)) out.push({ html: m[0], start: m.index, end: m.index + m[0].length });
  return out;
}

interface RawCell {
  text: string;
  rowspan: number;
  colspan: number;
  th: boolean;
}

// Spans are capped: a model that writes rowspan=9999 must not make us allocate a huge grid.
const MAX_SPAN = 1000;

export function parseHtmlTable(html: string): ParsedHtmlTable {
  const rows: Array<{ cells: RawCell[]; head: boolean }> = [];
  const body = html.replace(/<!--[\s\S]*?-->/g, '');
  // Rows start at each <tr>; cells before the first <tr> (a model that skipped it) form a row too.
  const theadEnd = body.search(/<\/thead\s*>/i);
  const starts = [0, ...[...body.matchAll(/<tr\b[^>]*>/gi)].map((m) => m.index + m[0].length)];
  for (const [i, start] of starts.entries()) {
    const end = i + 1 < starts.length ? body.lastIndexOf('<', starts[i + 1] - 1) : body.length;
    const cells = readCells(body.slice(start, Math.max(start, end)).replace(/<\/tr\s*>[\s\S]*$/i, ''));
    if (cells.length === 0) continue;
    rows.push({ cells, head: theadEnd >= 0 && start < theadEnd });
  }
  return expand(rows);
}

function readCells(row: string): RawCell[] {
  const cells: RawCell[] = [];
  // A cell runs to its closing tag, or to the next cell when the model left it open.
  const CELL = /<(t[dh])\b([^>]*)>([\s\S]*?)(?=<\/t[dh]\s*>|<t[dh]\b|$)(?:<\/t[dh]\s*>)?/gi;
  for (const m of row.matchAll(CELL)) {
    cells.push({
      th: m[1].toLowerCase() === 'th',
      rowspan: span(m[2], 'rowspan'),
      colspan: span(m[2], 'colspan'),
      text: cellText(m[3]),
    });
  }
  return cells;
}

function span(attrs: string, name: string): number {
  const m = new RegExp(`${name}\\s*=\\s*["']?(\\d+)`, 'i').exec(attrs);
  const n = m ? Number(m[1]) : 1;
  return Math.min(MAX_SPAN, Math.max(1, n || 1));
}

/** The HTML tables in `text`, one per line: what a table block keeps of the model's markup. */
export function tablesHtml(text: string): string {
  return findHtmlTables(text)
    .map((t) => t.html)
    .join('\n');
}

/** The HTML tables in `text` as plain text: a row per line, cells separated by tabs, a blank line between tables. */
export function tablesAsTsv(text: string): string {
  return findHtmlTables(text)
    .map((t) =>
      parseHtmlTable(t.html)
        .grid.map((r) => r.join('\t'))
        .join('\n'),
    )
    .join('\n\n');
}

/** Cell text: tags dropped (line breaks kept as spaces), entities decoded, whitespace collapsed. */
export function cellText(html: string): string {
  return decodeEntities(html.replace(/<br\s*\/?>/gi, ' ').replace(/<[^>]+>/g, ''))
    .replace(/\s+/g, ' ')
    .trim();
}

function expand(rows: Array<{ cells: RawCell[]; head: boolean }>): ParsedHtmlTable {
  const grid: Array<Array<string | undefined>> = [];
  const headerRows: number[] = [];
  for (const [r, row] of rows.entries()) {
    grid[r] ??= [];
    let c = 0;
    for (const cell of row.cells) {
      while (grid[r][c] !== undefined) c++;
      // A rowspan never reaches past the table's last written row.
      const lastRow = Math.min(rows.length - 1, r + cell.rowspan - 1);
      for (let rr = r; rr <= lastRow; rr++) {
        grid[rr] ??= [];
        for (let cc = c; cc < c + cell.colspan; cc++) grid[rr][cc] = cell.text;
      }
      c += cell.colspan;
    }
    if (row.head || (row.cells.length > 0 && row.cells.every((x) => x.th))) headerRows.push(r);
  }
  const width = Math.max(0, ...grid.map((r) => r.length));
  const firstRowDepth = Math.max(1, ...(rows[0]?.cells.map((c) => Math.min(c.rowspan, rows.length)) ?? [1]));
  return { grid: grid.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? '')), headerRows, firstRowDepth };
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1));
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[e.toLowerCase()] ?? whole;
  });
}
