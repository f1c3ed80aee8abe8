import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Block, DocumentResult } from '../shared/bus/index.ts';
import { renderHocr } from '../services/ingest/formats/hocr.ts';
import { renderAlto } from '../services/ingest/formats/alto.ts';
import { outsideTool } from './helpers/outside-tool.ts';

const xmllint = outsideTool('xmllint', ['xmllint', '--version'], 'Debian package libxml2-utils');
const ALTO_XSD = fileURLToPath(new URL('./fixtures/alto/alto-4-4.xsd', import.meta.url));

type Page = DocumentResult['pages'][number];
const line = (text: string, bbox: Block['bbox'], confidence?: number) => ({ text, bbox, ...(confidence !== undefined ? { confidence } : {}) });

/** Two pages as the engines report them: the CPU engine's line boxes, a vision model's blocks, a figure, a failed page. */
export const sampleDoc: DocumentResult = {
  v: 1,
  jobId: 'job-xml',
  source: { name: 'report <draft> & notes.pdf', mediaType: 'application/pdf', bytes: 1, sha256: 'x' },
  pages: [
    {
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
          text: 'Quarterly <script>alert(1)</script> Report',
          order: 0,
          confidence: 0.97,
          lines: [line('Quarterly <script>alert(1)</script> Report', [120, 100, 900, 160], 0.97)],
        },
        {
          type: 'text',
          bbox: [120, 220, 580, 293],
          text: 'Left column "quoted" & done',
          order: 1,
          lines: [line('Left column', [120, 220, 400, 255], 0.9), line('"quoted" & done', [120, 258, 580, 293], 0.8)],
        },
        { type: 'image', bbox: [120, 400, 800, 900], text: '![](images/1_0.jpg)', order: 2 },
      ],
    },
    {
      page: 2,
      status: 'done',
      engine: 'vllm',
      width: 1241,
      height: 1754,
      markdown: '',
      blocks: [
        {
          type: 'text',
          bbox: [100, 100, 1100, 240],
          text: 'A paragraph from a vision model, which gives one box per block and no lines at all, so the outputs wrap it into its box.',
          order: 0,
        },
        { type: 'table', bbox: [100, 300, 800, 400], text: '| a | b |\n|---|---|\n| 1 | 2 |', order: 1 },
        { type: 'text', bbox: [100, 500, 1100, 540], text: '中文 Ελληνικά 😀', order: 2 },
      ],
    },
    { page: 3, status: 'failed', markdown: '', blocks: [], error: { code: 'FOLIO_ENGINE_FAILED', message: 'x' } },
  ] as Page[],
};

const WORDS = ['Quarterly', '<script>alert(1)</script>', 'Report', 'Left', 'column', '"quoted"', '&', 'done'];

function lint(xml: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-xml-'));
  try {
    writeFileSync(path.join(dir, 'doc.xml'), xml);
    return spawnSync('xmllint', [...args, path.join(dir, 'doc.xml')], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The values an XPath selects (xmllint prints each attribute as name="value"). */
function xpath(xml: string, expr: string): string[] {
  const r = lint(xml, ['--xpath', expr]);
  assert.equal(r.status, 0, `${expr}: ${r.stderr}`);
  return [...r.stdout.matchAll(/\w+="([^"]*)"/g)].map((m) =>
    m[1]
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&'),
  );
}
const count = (xml: string, expr: string) => Number(lint(xml, ['--xpath', `count(${expr})`]).stdout.trim());
const cls = (c: string) => `*[local-name()][@class='${c}']`;
const box = (title: string) => /bbox (\d+) (\d+) (\d+) (\d+)/.exec(title)!.slice(1).map(Number);

describe('hOCR: XHTML with ocr_page, ocr_carea, ocr_par, ocr_line and ocrx_word, boxes in page pixels', { skip: xmllint.skip }, () => {
  const hocr = renderHocr(sampleDoc);

  it('is well-formed XHTML, every word inside a line inside a paragraph inside an area inside its page', () => {
    const r = lint(hocr, ['--noout', '--nonet']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(count(hocr, `//${cls('ocr_page')}`), 3);
    const words = count(hocr, `//${cls('ocrx_word')}`);
    assert.ok(words > 20);
    assert.equal(count(hocr, `//${cls('ocr_page')}/${cls('ocr_carea')}/${cls('ocr_par')}/${cls('ocr_line')}/${cls('ocrx_word')}`), words);
    assert.equal(count(hocr, `//${cls('ocr_page')}/${cls('ocr_photo')}`), 1);
    const ids = xpath(hocr, '//@id');
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
    assert.deepEqual(xpath(hocr, `//${cls('ocr_page')}/@title`), [
      'image "pages/1/image"; bbox 0 0 1241 1754; ppageno 0',
      'image "pages/2/image"; bbox 0 0 1241 1754; ppageno 1',
      'image "pages/3/image"; ppageno 2',
    ]);
  });

  it("words read in order with their text escaped, each box inside its line's, confidences as x_wconf", () => {
    const words = lint(hocr, ['--xpath', `//${cls('ocrx_word')}/text()`])
      .stdout.replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
      .replace(/&quot;/g, '"');
    assert.ok(words.startsWith(WORDS.join('\n')), words);
    assert.ok(words.includes('中文\nΕλληνικά\n😀'));
    for (const n of [1, 2]) {
      const lines = xpath(hocr, `//${cls('ocr_page')}[@id='page_${n}']//${cls('ocr_line')}/@title`);
      for (const [i, title] of lines.entries()) {
        const l = box(title);
        assert.match(title, /; baseline 0 -\d+; x_size \d+/);
        for (const w of xpath(hocr, `(//${cls('ocr_page')}[@id='page_${n}']//${cls('ocr_line')})[${i + 1}]/${cls('ocrx_word')}/@title`).map(box)) {
          assert.ok(w[0] >= l[0] && w[2] <= l[2] && w[1] >= l[1] && w[3] <= l[3] && w[0] < w[2], `word ${w} in line ${l}`);
        }
      }
    }
    assert.deepEqual(
      xpath(hocr, `(//${cls('ocr_line')})[1]/${cls('ocrx_word')}/@title`).map((t) => t.split('; ')[1]),
      ['x_wconf 97', 'x_wconf 97', 'x_wconf 97'],
    );
    // The CPU engine's line boxes are kept as they came.
    assert.deepEqual(xpath(hocr, `//${cls('ocr_page')}[@id='page_1']//${cls('ocr_line')}/@title`).map(box), [
      [120, 100, 900, 160],
      [120, 220, 400, 255],
      [120, 258, 580, 293],
    ]);
  });
});

describe('ALTO: version 4 XML that validates against the ALTO 4.4 schema', { skip: xmllint.skip }, () => {
  const alto = renderAlto(sampleDoc);
  const validate = (xml: string) => lint(xml, ['--noout', '--nonet', '--schema', ALTO_XSD]);

  it('validates against the ALTO 4.4 XSD (and the validator does refuse a broken one)', () => {
    const r = validate(alto);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /validates$/m);
    const broken = validate(alto.replace('<String ID="p1_w1"', '<String ID="p1_w1" WC="1.5"'));
    assert.notEqual(broken.status, 0);
    assert.match(broken.stderr, /WC/);
  });

  it('pages, blocks, lines and strings in reading order, in pixels, with confidences; a failed page says why', () => {
    const ns = "local-name()='";
    const content = xpath(alto, `//*[${ns}String']/@CONTENT`);
    assert.deepEqual(content.slice(0, WORDS.length), WORDS);
    assert.ok(content.join(' ').includes('中文 Ελληνικά 😀'));
    assert.match(alto, /<MeasurementUnit>pixel<\/MeasurementUnit>/);
    assert.deepEqual(xpath(alto, `//*[${ns}Page']/@ID`), ['page_1', 'page_2', 'page_3']);
    assert.deepEqual(xpath(alto, `//*[${ns}Page'][@ID='page_3']/@QUALITY_DETAIL`), ['not read: FOLIO_ENGINE_FAILED']);
    assert.deepEqual(xpath(alto, `//*[${ns}Illustration']/@*[name()='HPOS' or name()='VPOS' or name()='WIDTH' or name()='HEIGHT']`), [
      '120',
      '400',
      '680',
      '500',
    ]);
    assert.deepEqual(xpath(alto, `(//*[${ns}TextLine'])[2]/@*[name()='HPOS' or name()='VPOS' or name()='WIDTH' or name()='HEIGHT']`), [
      '120',
      '220',
      '280',
      '35',
    ]);
    assert.deepEqual(xpath(alto, `(//*[${ns}TextLine'])[2]/*[${ns}String']/@WC`), ['0.900', '0.900']);
    // Every string lies inside its line.
    const lines = count(alto, `//*[${ns}TextLine']`);
    for (let i = 1; i <= lines; i++) {
      const [x, y, w, h] = xpath(alto, `(//*[${ns}TextLine'])[${i}]/@*[name()='HPOS' or name()='VPOS' or name()='WIDTH' or name()='HEIGHT']`).map(Number);
      const strings = xpath(alto, `(//*[${ns}TextLine'])[${i}]/*[${ns}String']/@*[name()='HPOS' or name()='VPOS' or name()='WIDTH' or name()='HEIGHT']`).map(
        Number,
      );
      for (let k = 0; k < strings.length; k += 4) {
        const [sx, sy, sw, sh] = strings.slice(k, k + 4);
        assert.ok(
          sx >= x - 0.01 && sx + sw <= x + w + 0.01 && sy >= y - 0.01 && sy + sh <= y + h + 0.01,
          `line ${i}: string ${[sx, sy, sw, sh]} in ${[x, y, w, h]}`,
        );
      }
    }
  });
});
