import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Block, DocumentResult } from '../shared/bus/index.ts';
import { renderPdf } from '../services/ingest/formats/pdf.ts';
import { parsePng, pdfImageFromPng, type PdfImage } from '../services/ingest/formats/pdf-image.ts';
import { glyphlessTtf } from '../services/ingest/formats/pdf-font.ts';
import { pageRegions } from '../services/ingest/formats/page-words.ts';
import { openPdf } from '../shared/render/pdfjs.ts';
import { pdfInfo, pdfText, pdfWords, pdftotext, type PdfWord } from './helpers/pdf-words.ts';

const ENGLISH = readFileSync(new URL('./fixtures/english.png', import.meta.url));
const DPI = 150;

type Page = DocumentResult['pages'][number];
const docOf = (pages: Page[]): DocumentResult => ({
  v: 1,
  jobId: 'job-pdf',
  source: { name: 'scan.png', mediaType: 'image/png', bytes: 1, sha256: 'x' },
  pages,
});

async function pdfOf(doc: DocumentResult, images: Record<number, Buffer> = {}, dpi = DPI): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const load = async (page: number): Promise<PdfImage | null> => (images[page] ? pdfImageFromPng(images[page]) : null);
  for await (const c of renderPdf(doc, load, { dpi, date: new Date(0) })) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The words the PDF should hold, page by page, in reading order, with their boxes in points. */
function expectedWords(doc: DocumentResult, dpi = DPI): PdfWord[] {
  const k = 72 / dpi;
  return doc.pages.flatMap((p, i) =>
    pageRegions(p).flatMap((r) => r.lines.flatMap((l) => l.words.map((w) => ({ page: i + 1, text: w.text, box: w.bbox.map((v) => v * k) as PdfWord['box'] })))),
  );
}

/** Each word read back is the word expected, and lies within its box (0.5 pt: pdftotext prints 6 decimals of float maths). */
function assertWordsInBoxes(got: PdfWord[], want: PdfWord[]) {
  assert.deepEqual(
    got.map((w) => `${w.page}:${w.text}`),
    want.map((w) => `${w.page}:${w.text}`),
  );
  for (const [i, w] of got.entries()) {
    const e = want[i].box;
    const msg = `"${w.text}" at ${w.box.map((v) => v.toFixed(1))} vs its box ${e.map((v) => v.toFixed(1))}`;
    assert.ok(w.box[0] >= e[0] - 0.5 && w.box[2] <= e[2] + 0.5 && w.box[1] >= e[1] - 0.5 && w.box[3] <= e[3] + 0.5, msg);
    // …and fills it: the word is stretched to the box's width, its type at least half the line's height, centred.
    assert.ok(w.box[2] - w.box[0] >= 0.95 * (e[2] - e[0]) && w.box[3] - w.box[1] >= 0.5 * (e[3] - e[1]), msg);
    assert.ok(Math.abs(w.box[1] - e[1] - (e[3] - w.box[3])) < 0.5, `${msg}: centred`);
  }
}

const line = (text: string, bbox: Block['bbox'], confidence?: number) => ({ text, bbox, ...(confidence !== undefined ? { confidence } : {}) });

/** A two-column page as the CPU engine reports it: paragraphs with their lines' boxes, in reading order. */
const twoColumns: Page = {
  page: 1,
  status: 'done',
  engine: 'cpu',
  width: 1241,
  height: 1754,
  markdown: '',
  blocks: [
    {
      type: 'title',
      bbox: [120, 100, 900, 160],
      text: 'Quarterly Operations Report',
      order: 0,
      lines: [line('Quarterly Operations Report', [120, 100, 900, 160], 0.98)],
    },
    {
      type: 'text',
      bbox: [120, 220, 580, 330],
      text: 'Left column first line second line of the left column ends here.',
      order: 1,
      lines: [
        line('Left column first line', [120, 220, 560, 255], 0.9),
        line('second line of the left', [120, 258, 580, 293], 0.92),
        line('column ends here.', [120, 296, 420, 330], 0.95),
      ],
    },
    {
      type: 'text',
      bbox: [660, 220, 1120, 330],
      text: 'Right column is read after the whole left column.',
      order: 2,
      lines: [line('Right column is read', [660, 220, 1080, 255]), line('after the whole left', [660, 258, 1090, 293]), line('column.', [660, 296, 800, 330])],
    },
  ],
};

describe('searchable PDF: the page image with the text invisible over it, word by word at its box', { skip: pdftotext.skip }, () => {
  it('pdftotext reads every word of the line boxes back in reading order, each inside its box', async () => {
    const doc = docOf([twoColumns]);
    const pdf = await pdfOf(doc, { 1: ENGLISH });
    assertWordsInBoxes(pdfWords(pdf), expectedWords(doc));
    // The content order is the reading order; poppler's own reading order (columns from geometry) agrees.
    const words = (s: string) => s.split(/\s+/).filter(Boolean);
    const text = doc.pages[0].blocks.flatMap((b) => b.lines!.map((l) => l.text)).join(' ');
    assert.deepEqual(words(pdfText(pdf, 'raw')), words(text));
    assert.deepEqual(words(pdfText(pdf, 'reading')), words(text));
    // One page, the size of the image at its resolution, PDF 1.5, nothing for pdfinfo to complain about.
    const info = pdfInfo(pdf);
    assert.equal(info.Pages, '1');
    assert.match(info['Page size'], new RegExp(`^${(1241 * 72) / DPI} x ${(1754 * 72) / DPI} pts`));
    assert.equal(info.Title, 'scan.png');
  });

  it('blocks without line boxes (vision models) are wrapped into lines inside their box, words in order', async () => {
    const para =
      'The third quarter showed steady growth across all regions. Revenue increased by 12 percent compared with the previous quarter, while operating costs remained stable.';
    const doc = docOf([
      {
        ...twoColumns,
        engine: 'vllm',
        blocks: [
          { type: 'title', bbox: [120, 100, 900, 160], text: 'Quarterly Operations Report', order: 0 },
          { type: 'text', bbox: [120, 200, 1120, 330], text: para, order: 1 },
          { type: 'table', bbox: [120, 400, 800, 520], text: '| Region | Revenue |\n|---|---|\n| Europe | 987,650 |\n| Asia Pacific | 1,532,080 |', order: 2 },
        ],
      },
    ]);
    const pdf = await pdfOf(doc, { 1: ENGLISH });
    const got = pdfWords(pdf);
    assertWordsInBoxes(got, expectedWords(doc));
    assert.equal(got.map((w) => w.text).join(' '), `Quarterly Operations Report ${para} Region Revenue Europe 987,650 Asia Pacific 1,532,080`);
    // The paragraph's 130 px box holds several lines (about 4 at its text length), not one squeezed line.
    const lines = new Set(got.filter((w) => w.box[1] >= (200 * 72) / DPI - 1 && w.box[3] <= (330 * 72) / DPI + 1).map((w) => w.box[1].toFixed(1)));
    assert.ok(lines.size >= 3 && lines.size <= 5, `${lines.size} lines`);
  });

  it('any script comes back as written: CJK, Greek, Cyrillic, accents, symbols and characters outside the BMP', async () => {
    const texts = ['中文的句子 日本語のテキスト 한국어', 'Ελληνικά кириллица Ünïcödé €100 ½', 'emoji 😀 math 𝔸𝔹 rare 𠀋 (parens) back\\slash'];
    const doc = docOf([
      {
        ...twoColumns,
        blocks: texts.map((t, i) => ({
          type: 'text',
          bbox: [100, 100 + i * 60, 1100, 150 + i * 60] as Block['bbox'],
          text: t,
          order: i,
          lines: [line(t, [100, 100 + i * 60, 1100, 150 + i * 60])],
        })),
      },
    ]);
    const pdf = await pdfOf(doc, { 1: ENGLISH });
    assert.deepEqual(
      pdfWords(pdf).map((w) => w.text),
      texts.join(' ').split(' '),
    );
    const fonts = spawnTool('pdffonts', pdf);
    assert.match(fonts, /GlyphLessFont\s+CID TrueType\s+Identity-H\s+yes\s+no\s+yes/, 'one embedded font with a ToUnicode map');
  });

  it('pdf.js reads the same text, in the same order', async () => {
    const doc = docOf([twoColumns]);
    const pdf = await pdfOf(doc, { 1: ENGLISH });
    const d = await openPdf({ data: pdf });
    try {
      const content = await (await d.getPage(1)).getTextContent();
      const text = content.items.map((i) => ('str' in i ? i.str : '')).join(' ');
      assert.deepEqual(
        text.split(/\s+/).filter(Boolean),
        expectedWords(doc).map((w) => w.text),
      );
    } finally {
      await d.destroy();
    }
  });

  it('each page shows its image: the PNG goes in as it is and renders back to the same pixels', async () => {
    const png = ENGLISH;
    const img = await pdfImageFromPng(png);
    assert.equal(img.data.length, parsePng(png)!.idat.length, "the PNG's compressed rows, not decoded and compressed again");
    const pdf = await pdfOf(docOf([twoColumns]), { 1: png });
    assert.ok(pdf.length < png.length * 1.1, `${pdf.length} bytes for a ${png.length}-byte page image`);
    await assertRendersLike(pdf, png, DPI);
  });

  it("other PNGs (grey, palette, alpha, 16-bit, interlaced) are embedded too, and a scanner's pHYs resolution sets the page size", async () => {
    const base = sharp(ENGLISH).extract({ left: 0, top: 0, width: 600, height: 400 });
    const cases: Record<string, Buffer> = {
      grey: await base.clone().toColourspace('b-w').png().toBuffer(),
      palette: await base.clone().png({ palette: true, colours: 16 }).toBuffer(),
      alpha: await base.clone().ensureAlpha(0.5).png().toBuffer(),
      deep: await base.clone().toColourspace('rgb16').png().toBuffer(),
      interlaced: await base.clone().png({ progressive: true }).toBuffer(),
      at300dpi: await base.clone().withMetadata({ density: 300 }).png().toBuffer(),
      // What encoders write when nobody said (sharp on a rendered PDF page): the job's dpi is used.
      at72dpi: await base.clone().withMetadata({ density: 72 }).png().toBuffer(),
    };
    for (const [name, png] of Object.entries(cases)) {
      const page: Page = {
        ...twoColumns,
        width: 600,
        height: 400,
        blocks: [{ type: 'text', bbox: [50, 50, 500, 90], text: name, order: 0, lines: [line(name, [50, 50, 500, 90])] }],
      };
      const pdf = await pdfOf(docOf([page]), { 1: png });
      const dpi = name === 'at300dpi' ? 300 : DPI;
      assert.match(pdfInfo(pdf)['Page size'], new RegExp(`^${(600 * 72) / dpi} x ${(400 * 72) / dpi} pts`), name);
      assert.deepEqual(
        pdfWords(pdf).map((w) => w.text),
        [name],
      );
      // Alpha is flattened on white, as the rasterizer flattens uploads.
      await assertRendersLike(pdf, await sharp(png).flatten({ background: '#ffffff' }).png().toBuffer(), dpi, name);
    }
  });

  it('every page of the document is a page of the PDF: a failed page without an image is blank, a page without text is its image', async () => {
    const doc = docOf([
      twoColumns,
      { page: 2, status: 'failed', markdown: '', blocks: [], error: { code: 'FOLIO_ENGINE_FAILED', message: 'x' } },
      { ...twoColumns, page: 3, blocks: [] },
    ]);
    const pdf = await pdfOf(doc, { 1: ENGLISH, 3: ENGLISH });
    assert.equal(pdfInfo(pdf).Pages, '3');
    assert.deepEqual([...new Set(pdfWords(pdf).map((w) => w.page))], [1]);
  });

  it('an image that cannot be read fails the PDF instead of leaving the page without its scan', async () => {
    const doc = docOf([twoColumns, { ...twoColumns, page: 2 }]);
    const load = async (page: number) => {
      if (page === 2) throw new Error('object store unavailable');
      return pdfImageFromPng(ENGLISH);
    };
    await assert.rejects(async () => {
      for await (const _ of renderPdf(doc, load, { dpi: DPI })) void _;
    }, /object store unavailable/);
  });

  it('the glyphless font is a well-formed TrueType font (table checksums and the whole-font adjustment add up)', () => {
    const ttf = glyphlessTtf();
    const sum = (b: Buffer) => {
      const p = Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
      let s = 0;
      for (let i = 0; i < p.length; i += 4) s = (s + p.readUInt32BE(i)) >>> 0;
      return s;
    };
    assert.equal(sum(ttf), 0xb1b0afba);
    const tables = ttf.readUInt16BE(4);
    for (let i = 0; i < tables; i++) {
      const rec = 12 + 16 * i;
      const tag = ttf.toString('latin1', rec, rec + 4);
      const [check, at, len] = [ttf.readUInt32BE(rec + 4), ttf.readUInt32BE(rec + 8), ttf.readUInt32BE(rec + 12)];
      if (tag !== 'head') assert.equal(sum(ttf.subarray(at, at + len)), check, tag);
    }
  });
});

function spawnTool(tool: string, pdf: Buffer, args: string[] = []): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-pdf-'));
  try {
    writeFileSync(path.join(dir, 'in.pdf'), pdf);
    const r = spawnSync(tool, [...args, path.join(dir, 'in.pdf')], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', `${tool} complained`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The image in the PDF is the PNG's pixels exactly (pdfimages extracts it losslessly), and it
 * fills the page: pdftoppm at the image's resolution renders the same picture (compared at an
 * eighth of its size, as the renderer may place it half a pixel off and resample).
 */
async function assertRendersLike(pdf: Buffer, png: Buffer, dpi: number, name = '') {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-pdf-'));
  const pixels = (b: Buffer, width?: number) =>
    sharp(b)
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .resize(width ? { width, kernel: 'linear' } : undefined)
      .raw()
      .toBuffer({ resolveWithObject: true });
  const meanDiff = (a: Buffer, b: Buffer) => {
    let d = 0;
    for (let i = 0; i < a.length; i++) d += Math.abs(a[i] - b[i]);
    return d / a.length;
  };
  try {
    writeFileSync(path.join(dir, 'in.pdf'), pdf);
    for (const [tool, args] of [
      ['pdfimages', ['-png']],
      ['pdftoppm', ['-r', String(dpi), '-png', '-singlefile']],
    ] as const) {
      const r = spawnSync(tool, [...args, path.join(dir, 'in.pdf'), path.join(dir, tool)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', `${tool} complained`);
    }
    const want = await pixels(png);
    const embedded = await pixels(readFileSync(path.join(dir, 'pdfimages-000.png')));
    assert.deepEqual([embedded.info.width, embedded.info.height], [want.info.width, want.info.height], name);
    assert.equal(meanDiff(embedded.data, want.data), 0, `${name}: the embedded image is the PNG's pixels`);
    // pdftoppm rounds the page size up: at most one pixel more.
    let render = readFileSync(path.join(dir, 'pdftoppm.png'));
    const meta = await sharp(render).metadata();
    assert.ok(
      meta.width! - want.info.width <= 1 && meta.width! >= want.info.width && meta.height! - want.info.height <= 1 && meta.height! >= want.info.height,
      `${name}: rendered ${meta.width}x${meta.height}`,
    );
    render = await sharp(render).extract({ left: 0, top: 0, width: want.info.width, height: want.info.height }).png().toBuffer();
    const eighth = Math.round(want.info.width / 8);
    const diff = meanDiff((await pixels(render, eighth)).data, (await pixels(png, eighth)).data);
    assert.ok(diff < 3, `${name}: rendered page differs by ${diff.toFixed(2)} of 255 on average`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
