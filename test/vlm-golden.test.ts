/**
 * Golden pages of real model answers: seven models' raw answers on the same two pages (7 and 20 of
 * 32) of a PLOS Biology paper (test/vlm-golden/README.md says where they come from). Each is parsed
 * by its model's profile; the `.expected.json` beside it is the reviewed result, and the tests
 * below state what matters in it, so a change that breaks a rule says which.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Block } from '../shared/bus/index.ts';
import { profileByName } from '../services/ocr/engines/vllm/profiles.ts';
import { parseOlmOcrOutput } from '../services/ocr/engines/vllm/olmocr.ts';
import { truncateRepetitive } from '../services/ocr/engines/vllm/vlm-text.ts';

const DIR = path.join(import.meta.dirname, 'vlm-golden');
const W = 1700;
const H = 2200;

interface Golden {
  input: { profile: string; width: number; height: number; page: number; task: 'markdown' };
  markdown: string;
  blocks: Block[];
}

function parse(model: string, page: 'p07' | 'p20') {
  const expected = JSON.parse(readFileSync(path.join(DIR, model, `plos-${page}.expected.json`), 'utf8')) as Golden;
  const raw = readFileSync(path.join(DIR, model, `plos-${page}.txt`), 'utf8');
  const p = profileByName(expected.input.profile);
  const out = p.parse(raw, expected.input.width, expected.input.height, { page: expected.input.page, task: expected.input.task, prompt: p.prompts.markdown });
  return { raw, expected, out: { markdown: out.markdown, blocks: out.blocks } };
}

const types = (blocks: Block[]) => blocks.map((b) => b.type);
const TAG = /<\|[a-z_/]+\|>|<\/?(?:div|p|math|page_number|watermark|img)\b/;

describe('real answers: every golden page parses to its reviewed result', () => {
  for (const model of readdirSync(DIR).filter((d) => !d.includes('.'))) {
    for (const page of ['p07', 'p20'] as const) {
      it(`${model} ${page}`, () => {
        const { expected, out } = parse(model, page);
        assert.deepEqual(out, { markdown: expected.markdown, blocks: expected.blocks });
        if (model !== 'nemotron-parse') assert.doesNotMatch(out.markdown, TAG);
        for (const b of out.blocks) {
          assert.ok(
            b.bbox[0] >= 0 && b.bbox[1] >= 0 && b.bbox[2] <= W && b.bbox[3] <= H && b.bbox[0] <= b.bbox[2] && b.bbox[1] <= b.bbox[3],
            `${model} ${b.type} box ${b.bbox} off the page`,
          );
        }
      });
    }
  }
});

describe('Chandra 2 (real): HTML divs with boxes on a 0–1024 grid', () => {
  it('scales data-bbox "x0 y0 x1 y1" from the 1024 grid to page pixels', () => {
    const { out } = parse('chandra-2', 'p07');
    // <div data-bbox="22 0 960 93" data-label="Text">
    assert.deepEqual(out.blocks[0].bbox, [Math.round((22 * W) / 1024), 0, Math.round((960 * W) / 1024), Math.round((93 * H) / 1024)]);
    assert.deepEqual(types(out.blocks), ['text', 'text', 'equation', 'text', 'text', 'text', 'sub_title', 'text', 'equation', 'text']);
  });
  it('turns <math> into $…$ and display math into $$…$$, entities decoded, links to their text', () => {
    const { out } = parse('chandra-2', 'p20');
    assert.match(out.markdown, /\$p_L > 0\.5\$ and the \*small\* class if \$p_L < 0\.5\$/);
    assert.ok(out.blocks.some((b) => b.type === 'equation' && b.text === '$$p_L = \\int_{\\hat{B}}^{\\infty} p(S|m) dS, \\quad (7)$$'));
    assert.match(parse('chandra-2', 'p07').out.markdown, /^https:\/\/doi\.org\/10\.1371\/journal\.pbio\.3002373\.g003$/m);
  });
  it('types Page-Header divs as headers and keeps them out of the Markdown', () => {
    const { out } = parse('chandra-2', 'p20');
    assert.deepEqual(types(out.blocks).slice(0, 2), ['header', 'header']);
    assert.equal(out.blocks[1].text, 'PLOS BIOLOGY Corrective feedback on perceptual decisions');
    assert.ok(!out.markdown.includes('PLOS BIOLOGY'));
    assert.ok(out.markdown.startsWith('Fig 2B) stimulus duration'));
  });
  it('reads a cut-off answer (the last div never closed) up to where it stops', () => {
    const { raw, out } = parse('chandra-2', 'p20');
    assert.ok(!raw.trimEnd().endsWith('</div>'));
    assert.ok(out.markdown.endsWith('Below, we will first describe the computations for'));
  });
});

describe('DeepSeek-OCR (real): grounded Markdown with boxes on 0–999', () => {
  it('scales det boxes by /999 and keeps \\( \\) LaTeX', () => {
    const { out } = parse('deepseek-ocr', 'p20');
    // <|ref|>text<|/ref|><|det|>[[26, 40, 570, 60]]<|/det|>
    assert.deepEqual(out.blocks[0].bbox, [Math.round((26 / 999) * W), Math.round((40 / 999) * H), Math.round((570 / 999) * W), Math.round((60 / 999) * H)]);
    assert.ok(out.blocks.some((b) => b.type === 'equation' && b.text.startsWith('\\[p_{L} =')));
    assert.equal(out.blocks.length, 7);
  });
  it('takes a `## ` heading under a sub_title ref as the heading text', () => {
    const { out } = parse('deepseek-ocr', 'p07');
    assert.ok(out.blocks.some((b) => b.type === 'sub_title' && b.text === 'The Bayesian model of boundary-updating (BMBU)'));
  });
});

describe('olmOCR-2 (real): YAML front matter + Markdown', () => {
  it('reads the front matter and leaves it out of the page', () => {
    const raw = readFileSync(path.join(DIR, 'olmocr-2', 'plos-p07.txt'), 'utf8');
    const r = parseOlmOcrOutput(raw, W, H);
    assert.deepEqual(r.front, { primary_language: 'en', is_rotation_valid: true, rotation_correction: 0, is_table: false, is_diagram: false });
    assert.ok(r.markdown.startsWith('represent the ways'));
    assert.ok(!r.markdown.includes('primary_language'));
  });
  it('makes each \\[ … \\] display formula an equation block, bold/italic off in block text', () => {
    const { out } = parse('olmocr-2', 'p20');
    assert.deepEqual(types(out.blocks), ['text', 'text', 'text', 'equation', 'text', 'text']);
    assert.ok(out.blocks[2].text.startsWith('Decision-making. As for'));
    assert.match(out.blocks[2].text, /selecting the large class/);
    assert.match(out.markdown, /\*\*Decision-making\.\*\*/);
  });
});

describe('Nanonets-OCR2 (real): Markdown with its own tags', () => {
  it('turns the <page_number> in the running header into a page_number block and a typed header', () => {
    const { out } = parse('nanonets-ocr2', 'p20');
    assert.deepEqual(
      out.blocks.filter((b) => b.type === 'page_number' || b.type === 'header').map((b) => [b.type, b.text]),
      [
        ['header', 'PLOS Biology | https://doi.org/10.1371/journal.pbio.3002373 November 8, 2023'],
        ['page_number', '20 / 32'],
      ],
    );
    assert.ok(out.markdown.startsWith('PLOS BIOLOGY Corrective feedback'));
  });
  it('keeps $$…$$ as equation blocks', () => {
    const { out } = parse('nanonets-ocr2', 'p07');
    assert.equal(out.blocks.filter((b) => b.type === 'equation').length, 2);
    assert.ok(out.blocks.some((b) => b.type === 'title' && b.text === 'The Bayesian model of boundary-updating (BMBU)'));
  });
});

describe('PaddleOCR-VL (real): whole-page "OCR:" answers, one paragraph a line', () => {
  it('makes each line a text block in order', () => {
    const { raw, out } = parse('paddleocr-vl', 'p20');
    assert.equal(out.blocks.length, raw.trim().split('\n').length);
    assert.equal(out.blocks[1].text, 'PLOS BIOLOGY Corrective feedback on perceptual decisions');
  });
});

describe('Nemotron-Parse (real): a repetition loop', () => {
  it('is cut to one copy of the repeated line by the loop truncation PaddleOCR-VL uses', () => {
    for (const page of ['p07', 'p20']) {
      const raw = readFileSync(path.join(DIR, 'nemotron-parse', `plos-${page}.txt`), 'utf8');
      const { text, cut } = truncateRepetitive(raw);
      assert.equal(cut, true);
      const lines = text.split('\n');
      assert.ok(lines.length < 10 && raw.split('\n').length > 70, `${page}: ${lines.length} lines left`);
      assert.equal(new Set(lines).size, lines.length, 'no line repeats after the cut');
      assert.ok(text.includes('{200.09}'), 'one copy of what repeats is kept');
    }
  });
  it('no other real page is cut', () => {
    for (const model of ['glm-ocr', 'paddleocr-vl', 'olmocr-2', 'chandra-2', 'deepseek-ocr', 'nanonets-ocr2']) {
      for (const page of ['p07', 'p20'])
        assert.equal(truncateRepetitive(readFileSync(path.join(DIR, model, `plos-${page}.txt`), 'utf8')).cut, false, `${model} ${page}`);
    }
  });
});
