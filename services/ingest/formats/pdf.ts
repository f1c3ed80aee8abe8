/**
 * document.json + page images → a searchable PDF, as OCRmyPDF makes: each page is the page image,
 * and over it the text in render mode 3 (invisible), each word placed at its box and stretched
 * to the box's width (Tz), lines in reading order. Viewers show the scan; search, select, copy
 * and text extraction (pdftotext, pdf.js) read the OCR text where it stands on the page.
 *
 * Streamed: pages are written one at a time as their images arrive (one image in memory, and the
 * next one being fetched), so a 1,000-page document costs what one page costs. The writer is
 * otherwise pure: images come through `loadImage`, the caller's I/O.
 *
 * Page size: image pixels at the image's own resolution (PNG pHYs, for scans) or the job's dpi.
 * A page whose image is missing keeps its text over a blank page of the same size.
 */
import { deflateSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { DocumentResult } from '../../../shared/bus/index.ts';
import { CodeMap, DESCENT_FRACTION, GLYPH_WIDTH, cidToGidMap, fontDicts, glyphlessTtf, hexCodes, toUnicodeCMap } from './pdf-font.ts';
import type { PdfImage } from './pdf-image.ts';
import { pageRegions, type DocPage, type Line } from './page-words.ts';

export interface PdfOptions {
  /** Resolution the pages were rendered at (the job's dpi), for images that do not say theirs. */
  dpi: number;
  title?: string;
  /** Fixed creation date (tests); default now. */
  date?: Date;
}

// Object numbers: the fixed objects first, then three per page (page, contents, image).
const CATALOG = 1;
const PAGES = 2;
const INFO = 3;
const FONT = { type0: 4, cid: 5, descriptor: 6, file: 7, toUnicode: 8, cidToGid: 9 };
const FIRST_PAGE = 10;

/** Resolutions a page image's own pHYs is taken at its word for. */
const SCAN_DPI = { min: 100, max: 2400 };

/** Letter size when a page has neither image nor size (a page that failed before rendering). */
const FALLBACK_SIZE = { width: 612, height: 792 };

export async function* renderPdf(doc: DocumentResult, loadImage: (page: number) => Promise<PdfImage | null>, opts: PdfOptions): AsyncGenerator<Buffer> {
  const codes = new CodeMap();
  // The text of every page is encoded first: the font's ToUnicode map must list every astral character.
  const pages = doc.pages.map((p) => ({
    page: p,
    lines: pageRegions(p).flatMap((r) => r.lines.map((l) => ({ line: l, codes: l.words.map((w) => codes.encode(w.text)) }))),
  }));
  const w = new Writer();
  yield w.header();

  const pageIds = pages.map((_, i) => FIRST_PAGE + 3 * i);
  yield w.object(CATALOG, `<< /Type /Catalog /Pages ${PAGES} 0 R >>`);
  yield w.object(PAGES, `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`);
  const date = pdfDate(opts.date ?? new Date());
  yield w.object(
    INFO,
    `<< /Title ${pdfText(opts.title ?? doc.source.name ?? doc.jobId)} /Producer (Folio) /Creator (Folio OCR) /CreationDate (${date}) /ModDate (${date}) >>`,
  );
  const font = fontDicts(FONT);
  yield w.object(FONT.type0, font.type0);
  yield w.object(FONT.cid, font.cid);
  yield w.object(FONT.descriptor, font.descriptor);
  const ttf = glyphlessTtf();
  yield w.stream(FONT.file, `/Length1 ${ttf.length} /Filter /FlateDecode`, deflateSync(ttf));
  yield w.stream(FONT.toUnicode, '/Filter /FlateDecode', deflateSync(toUnicodeCMap(codes.astral)));
  yield w.stream(FONT.cidToGid, '/Filter /FlateDecode', cidToGidMap());

  // The next page's image is fetched while this one is written. A load that fails fails the PDF
  // (a missing image is the loader's null, not an error): no page silently loses its scan.
  const fetchImage = (i: number) => {
    if (i >= pages.length) return null;
    const p = loadImage(pages[i].page.page);
    p.catch(() => {}); // awaited in its turn; never an unhandled rejection if the reader stops first
    return p;
  };
  let next = fetchImage(0);
  for (const [i, { page, lines }] of pages.entries()) {
    const image = await next;
    next = fetchImage(i + 1);
    const id = pageIds[i];
    const size = pageSize(page, image, opts.dpi);
    const content = [image ? `q ${num(size.width)} 0 0 ${num(size.height)} 0 0 cm /Im0 Do Q` : '', textLayer(page, lines, size)].filter(Boolean).join('\n');
    const resources = `/Font << /F0 ${FONT.type0} 0 R >>${image ? ` /XObject << /Im0 ${id + 2} 0 R >>` : ''}`;
    yield w.object(
      id,
      `<< /Type /Page /Parent ${PAGES} 0 R /MediaBox [0 0 ${num(size.width)} ${num(size.height)}] /Resources << ${resources} >> /Contents ${id + 1} 0 R >>`,
    );
    yield w.stream(id + 1, '/Filter /FlateDecode', deflateSync(content));
    // Every page reserves its image's number; without an image it is a harmless empty object.
    yield image ? w.stream(id + 2, image.dict, image.data) : w.object(id + 2, 'null');
  }
  yield w.trailer(FIRST_PAGE + 3 * pages.length, createHash('md5').update(doc.jobId).digest('hex'));
}

function pageSize(page: DocPage, image: PdfImage | null, dpi: number): { width: number; height: number; px: { width: number; height: number } } {
  const px = image ? { width: image.width, height: image.height } : page.width && page.height ? { width: page.width, height: page.height } : null;
  if (!px) return { ...FALLBACK_SIZE, px: FALLBACK_SIZE };
  // 72 and 96 dpi are what encoders write when nobody said (sharp writes 72 for rendered PDF
  // pages): only a scanner's resolution is believed.
  const own = image?.dpi !== undefined && image.dpi >= SCAN_DPI.min && image.dpi <= SCAN_DPI.max ? image.dpi : undefined;
  const scale = 72 / (own ?? dpi);
  return { width: px.width * scale, height: px.height * scale, px };
}

/**
 * Type a fifth taller than its em is a line's height with ascenders and descenders. Detectors'
 * boxes often run taller (padding, skew): set at the box's height, word spaces would shrink below
 * what extraction tools read as a break (pdftotext -raw joins words under ~0.13 of the size).
 */
const LINE_PER_EM = 1.2;

/** BT … ET: each line in its box (at its text's size, centred), each word stretched to its box, a space stretched over each gap. */
function textLayer(page: DocPage, lines: Array<{ line: Line; codes: number[][] }>, size: { width: number; height: number }): string {
  if (!lines.length || !page.width || !page.height) return '';
  const sx = size.width / page.width;
  const sy = size.height / page.height;
  const ops: string[] = ['BT', '3 Tr'];
  for (const { line, codes } of lines) {
    const box = (line.bbox[3] - line.bbox[1]) * sy;
    const h = Math.min(box, LINE_PER_EM * line.em * sx);
    if (h <= 0) continue;
    const base = size.height - line.bbox[3] * sy + (box - h) / 2 + DESCENT_FRACTION * h;
    ops.push(`/F0 ${num(h)} Tf`);
    const advance = (n: number) => (n * GLYPH_WIDTH * h) / 1000;
    for (const [k, word] of line.words.entries()) {
      if (codes[k].length === 0) continue;
      const x = word.bbox[0] * sx;
      const width = Math.max(0.01, (word.bbox[2] - word.bbox[0]) * sx);
      ops.push(`1 0 0 1 ${num(x)} ${num(base)} Tm ${num((100 * width) / advance(codes[k].length))} Tz ${hexCodes(codes[k])} Tj`);
      const following = line.words[k + 1];
      if (following) {
        // The space fills the gap: extraction sees a word break exactly where the image has one.
        const gap = Math.max(0.01, following.bbox[0] * sx - (x + width));
        ops.push(`1 0 0 1 ${num(x + width)} ${num(base)} Tm ${num((100 * gap) / advance(1))} Tz <0020> Tj`);
      }
    }
  }
  ops.push('ET');
  return ops.join('\n');
}

const num = (v: number) => String(Math.round(v * 1000) / 1000);

/** A text string: ASCII as a literal, anything else as UTF-16BE with its byte-order mark. */
function pdfText(s: string): string {
  if (/^[\x20-\x7e]*$/.test(s)) return `(${s.replace(/[\\()]/g, (c) => `\\${c}`)})`;
  return `<FEFF${Buffer.from(s, 'utf16le').swap16().toString('hex').toUpperCase()}>`;
}

function pdfDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `D:${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

/** Objects written in order, their offsets kept for the cross-reference table. */
class Writer {
  private at = 0;
  private readonly offsets: number[] = [];

  private emit(b: Buffer): Buffer {
    this.at += b.length;
    return b;
  }

  header(): Buffer {
    // The binary comment tells transfer tools the file is binary (PDF 32000-1, 7.5.2).
    return this.emit(Buffer.concat([Buffer.from('%PDF-1.5\n%'), Buffer.from([0xe2, 0xe3, 0xcf, 0xd3]), Buffer.from('\n')]));
  }

  object(id: number, body: string): Buffer {
    this.offsets[id] = this.at;
    return this.emit(Buffer.from(`${id} 0 obj\n${body}\nendobj\n`, 'latin1'));
  }

  stream(id: number, dict: string, data: Buffer): Buffer {
    this.offsets[id] = this.at;
    return this.emit(
      Buffer.concat([Buffer.from(`${id} 0 obj\n<< ${dict} /Length ${data.length} >>\nstream\n`, 'latin1'), data, Buffer.from('\nendstream\nendobj\n')]),
    );
  }

  trailer(size: number, id: string): Buffer {
    const xref = this.at;
    const rows = ['xref', `0 ${size}`, '0000000000 65535 f '];
    for (let i = 1; i < size; i++) rows.push(`${String(this.offsets[i] ?? 0).padStart(10, '0')} 00000 n `);
    return this.emit(
      Buffer.from(
        `${rows.join('\n')}\ntrailer\n<< /Size ${size} /Root ${CATALOG} 0 R /Info ${INFO} 0 R /ID [<${id}> <${id}>] >>\nstartxref\n${xref}\n%%EOF\n`,
        'latin1',
      ),
    );
  }
}
