// Reads a PDF's text back with poppler's pdftotext (the tool most PDF text pipelines use): the words
// with their boxes (-bbox), and the text in content order (-raw) or poppler's reading order.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { outsideTool } from './outside-tool.ts';

export const pdftotext = outsideTool('pdftotext', ['pdftotext', '-v'], 'Debian package poppler-utils');

export interface PdfWord {
  page: number;
  text: string;
  /** Points, origin top left (pdftotext's convention). */
  box: [number, number, number, number];
}

function run(pdf: Buffer, args: string[], tool = 'pdftotext'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-pdf-'));
  try {
    const file = path.join(dir, 'in.pdf');
    writeFileSync(file, pdf);
    const r = spawnSync(tool, [...args, file, ...(tool === 'pdftotext' ? ['-'] : [])], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${r.stderr}`);
    // "no word list": poppler's note for a page without text, not a problem with the file.
    if (r.stderr.replace(/^no word list$/gm, '').trim()) throw new Error(`${tool} ${args.join(' ')} complained: ${r.stderr}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const unescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

export function pdfWords(pdf: Buffer): PdfWord[] {
  const out: PdfWord[] = [];
  let page = 0;
  for (const line of run(pdf, ['-bbox']).split('\n')) {
    if (line.includes('<page ')) page++;
    const m = /<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)<\/word>/.exec(line);
    if (m) out.push({ page, text: unescape(m[5]), box: [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] });
  }
  return out;
}

/** `raw`: in the order the content stream draws it; otherwise poppler's own reading order (columns found by geometry). */
export const pdfText = (pdf: Buffer, mode: 'raw' | 'reading' | 'layout' = 'raw') => run(pdf, mode === 'raw' ? ['-raw'] : mode === 'layout' ? ['-layout'] : []);

/** pdfinfo's fields, failing on any complaint. */
export function pdfInfo(pdf: Buffer): Record<string, string> {
  return Object.fromEntries(
    run(pdf, [], 'pdfinfo')
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]),
  );
}
