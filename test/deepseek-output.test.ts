import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { TASK_PROMPTS, buildRequestBody, parseDeepSeekOutput } from '../services/ocr/engines/vllm/deepseek.ts';

const GOLDEN = path.join(import.meta.dirname, 'deepseek-golden');
function golden(name: string) {
  const raw = readFileSync(path.join(GOLDEN, `${name}.txt`), 'utf8');
  const expected = JSON.parse(readFileSync(path.join(GOLDEN, `${name}.expected.json`), 'utf8'));
  const { width, height, page, task } = expected.input;
  return { raw, expected, parsed: parseDeepSeekOutput(raw, width, height, { page, task }) };
}
const TAGS = /<\|\/?(ref|det|grounding)\|>/;

// The example page from docs/deepseek-ocr.md, verbatim.
const EXAMPLE = `<|ref|>title<|/ref|><|det|>[[62, 40, 938, 88]]<|/det|>
# Quarterly Report

<|ref|>text<|/ref|><|det|>[[62, 110, 938, 230]]<|/det|>
Revenue grew 12% over the previous quarter.

<|ref|>table<|/ref|><|det|>[[62, 250, 938, 420]]<|/det|>
<table><tr><td>Item</td><td>Value</td></tr><tr><td>Revenue</td><td>1,200</td></tr></table>

<|ref|>image<|/ref|><|det|>[[100, 450, 600, 800]]<|/det|>

<|ref|>image_caption<|/ref|><|det|>[[100, 805, 600, 830]]<|/det|>
<center>Figure 1: Revenue by month</center>
`;

test('the example page: labels, texts and boxes in page pixels', () => {
  const { blocks } = parseDeepSeekOutput(EXAMPLE, 1600, 2000, { page: 3 });
  assert.deepEqual(
    blocks.map((b) => b.type),
    ['title', 'text', 'table', 'image', 'image_caption'],
  );
  // 62/999×1600 = 99.3, 40/999×2000 = 80.08, 938/999×1600 = 1502.3, 88/999×2000 = 176.2
  assert.deepEqual(blocks[0].bbox, [99, 80, 1502, 176]);
  assert.equal(blocks[0].text, 'Quarterly Report');
  assert.equal(blocks[1].text, 'Revenue grew 12% over the previous quarter.');
  assert.equal(blocks[2].text, 'Item\tValue\nRevenue\t1,200');
  assert.equal(blocks[3].text, '![](images/3_0.jpg)');
  // The image keeps its box so the assembler can crop it: 100/999×1600, 450/999×2000, 600/999×1600, 800/999×2000.
  assert.deepEqual(blocks[3].bbox, [160, 901, 961, 1602]);
  assert.equal(blocks[4].text, 'Figure 1: Revenue by month');
});

test('the example page: Markdown after the official clean-up', () => {
  const { markdown } = parseDeepSeekOutput(EXAMPLE, 1600, 2000, { page: 3 });
  assert.equal(
    markdown,
    [
      '# Quarterly Report',
      '',
      'Revenue grew 12% over the previous quarter.',
      '',
      '<table><tr><td>Item</td><td>Value</td></tr><tr><td>Revenue</td><td>1,200</td></tr></table>',
      '',
      '![](images/3_0.jpg)',
      '',
      '<center>Figure 1: Revenue by month</center>',
    ].join('\n'),
  );
  assert.doesNotMatch(markdown, /<\|(ref|det|\/ref|\/det)\|>/);
  assert.doesNotMatch(markdown, /\n{3,}/);
});

test('boxes: corners at 0 and 999 map to the image edges, out-of-range values are clamped', () => {
  const raw = '<|ref|>text<|/ref|><|det|>[[0, 0, 999, 999]]<|/det|>\nall\n\n<|ref|>text<|/ref|><|det|>[[-5, 10, 1200, 500]]<|/det|>\nclamped';
  const { blocks } = parseDeepSeekOutput(raw, 800, 1000);
  assert.deepEqual(blocks[0].bbox, [0, 0, 800, 1000]);
  assert.deepEqual(blocks[1].bbox, [0, 10, 800, 501]);
});

test('unknown labels become text blocks', () => {
  const raw = '<|ref|>page_header<|/ref|><|det|>[[10, 10, 500, 30]]<|/det|>\nACME Corp — internal';
  const { blocks, markdown } = parseDeepSeekOutput(raw, 999, 999);
  assert.equal(blocks.length, 1);
  assert.equal(blocks[0].type, 'text');
  assert.equal(blocks[0].text, 'ACME Corp — internal');
  assert.equal(markdown, 'ACME Corp — internal');
});

test('an element with several boxes gets their union', () => {
  const raw = '<|ref|>text<|/ref|><|det|>[[100, 500, 480, 900], [520, 100, 900, 400]]<|/det|>\ntwo columns';
  const { blocks } = parseDeepSeekOutput(raw, 999, 999);
  assert.equal(blocks.length, 1);
  assert.deepEqual(blocks[0].bbox, [100, 100, 900, 900]);
});

test('images are numbered per page in order; all other tags vanish', () => {
  const raw = [
    '<|ref|>image<|/ref|><|det|>[[0, 0, 100, 100]]<|/det|>',
    '<|ref|>sub_title<|/ref|><|det|>[[0, 110, 500, 130]]<|/det|>',
    '## Figures',
    '<|ref|>image<|/ref|><|det|>[[0, 200, 100, 300]]<|/det|>',
  ].join('\n');
  const { markdown, blocks } = parseDeepSeekOutput(raw, 999, 999, { page: 7 });
  assert.equal(markdown, '![](images/7_0.jpg)\n\n## Figures\n![](images/7_1.jpg)');
  assert.deepEqual(
    blocks.map((b) => [b.type, b.text]),
    [
      ['image', '![](images/7_0.jpg)'],
      ['sub_title', 'Figures'],
      ['image', '![](images/7_1.jpg)'],
    ],
  );
});

test('LaTeX clean-up, blank-line collapse and a stray end-of-sentence token', () => {
  const raw = '<|ref|>equation<|/ref|><|det|>[[0, 0, 999, 100]]<|/det|>\n\\[ f \\coloneqq g, \\; h \\eqqcolon k \\]\n\n\n\n\nafter<｜end▁of▁sentence｜>';
  const { markdown, blocks } = parseDeepSeekOutput(raw, 999, 999);
  assert.equal(markdown, '\\[ f := g, \\; h =: k \\]\n\nafter');
  assert.equal(blocks[0].type, 'equation');
  assert.equal(blocks[0].text, '\\[ f := g, \\; h =: k \\]\n\nafter');
});

test('text without grounding (Free OCR.) is Markdown without blocks', () => {
  const { markdown, blocks } = parseDeepSeekOutput('Just text.\n\n\n\nMore text.\n', 800, 1000);
  assert.equal(markdown, 'Just text.\n\nMore text.');
  assert.deepEqual(blocks, []);
});

test('request body follows the protocol', () => {
  const image = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
  const body = buildRequestBody({ model: 'deepseek-ai/DeepSeek-OCR', image, prompt: TASK_PROMPTS.markdown, maxTokens: 6000 });
  assert.deepEqual(body, {
    model: 'deepseek-ai/DeepSeek-OCR',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: `data:image/png;base64,${image.toString('base64')}` } },
          { type: 'text', text: '<|grounding|>Convert the document to markdown.' },
        ],
      },
    ],
    temperature: 0,
    max_tokens: 6000,
    skip_special_tokens: false,
    vllm_xargs: { ngram_size: 30, window_size: 90, whitelist_token_ids: [128821, 128822] },
  });
});

test('task prompts are the official ones', () => {
  assert.deepEqual(TASK_PROMPTS, {
    markdown: '<|grounding|>Convert the document to markdown.',
    ocr: '<|grounding|>OCR this image.',
    free: 'Free OCR.',
    figure: 'Parse the figure.',
    describe: 'Describe this image in detail.',
  });
});

// Golden pages: raw answers in the shapes the real model produces (test/deepseek-golden/README.md).

for (const file of readdirSync(GOLDEN).filter((f) => f.endsWith('.txt'))) {
  const name = file.replace(/\.txt$/, '');
  test(`golden page ${name}: Markdown and blocks as expected, no grounding tag left`, () => {
    const { parsed, expected } = golden(name);
    assert.equal(parsed.markdown, expected.markdown);
    assert.deepEqual(parsed.blocks, expected.blocks);
    assert.doesNotMatch(parsed.markdown, TAGS);
    for (const b of parsed.blocks) assert.doesNotMatch(b.text, TAGS);
    assert.deepEqual(
      parsed.blocks.map((b) => b.order),
      parsed.blocks.map((_, i) => i),
      'reading order is the order the model wrote',
    );
  });
}

test('"OCR this image." puts the text inside the refs: it is kept, one block per line with its box', () => {
  const { parsed } = golden('ocr-text-in-ref');
  assert.equal(parsed.markdown, 'INVOICE No. 2024-0117\nDate: 12 March 2024\nBill to: Northwind Traders, 4 Harbour Rd\nTotal due: $1,280.00');
  assert.deepEqual(
    parsed.blocks.map((b) => [b.type, b.text]),
    [
      ['text', 'INVOICE No. 2024-0117'],
      ['text', 'Date: 12 March 2024'],
      ['text', 'Bill to: Northwind Traders, 4 Harbour Rd'],
      ['text', 'Total due: $1,280.00'],
    ],
  );
  // 600/999×1000, 880/999×1400, 930/999×1000, 912/999×1400
  assert.deepEqual(parsed.blocks[3].bbox, [601, 1233, 931, 1278]);
});

test('a ref that reads like text (not a label) is text even under the markdown prompt', () => {
  const { markdown, blocks } = parseDeepSeekOutput('<|ref|>Total: 12 €<|/ref|><|det|>[[0, 0, 500, 100]]<|/det|>', 999, 999);
  assert.equal(markdown, 'Total: 12 €');
  assert.deepEqual(blocks, [{ type: 'text', bbox: [0, 0, 500, 100], text: 'Total: 12 €', order: 0 }]);
});

test('a table before its caption: the table keeps its cells, the caption its text, the footnote its own', () => {
  const { parsed } = golden('table-then-caption');
  const byType = Object.fromEntries(parsed.blocks.map((b) => [b.type, b]));
  assert.equal(byType.table_caption.text, 'Table 2: Accuracy by model and split');
  assert.equal(byType.table.text, 'Model\tAccuracy (%)\tAccuracy (%)\nModel\tdev\ttest\nBase\t81.2\t80.4\nLarge\t86.9\t85.7');
  assert.match(byType.table.html!, /^<table><tr><td rowspan="2">Model<\/td>/);
  assert.equal(byType.table_footnote.text, 'Scores are averaged over 3 runs.');
  assert.equal(byType.text.text, 'Large beats Base on both splits.');
});

test('malformed tags: an unclosed det keeps its box, a ref without det gives no block, a det without ref is text', () => {
  const { parsed } = golden('malformed-tags');
  assert.deepEqual(
    parsed.blocks.map((b) => [b.type, b.text, b.bbox[1]]),
    [
      ['title', 'Field Notes', 56],
      ['text', 'First paragraph, boxed.', 154],
      ['text', 'Third paragraph: a det with no ref.', 364],
      ['text', 'Fourth paragraph, boxed.', 448],
    ],
  );
  // Nothing shifted: the box-less paragraph is in the Markdown, in place, and in no block.
  assert.match(parsed.markdown, /First paragraph, boxed\.\n\nSecond paragraph: a ref with no det\.\n\nThird/);
  assert.ok(parsed.blocks.every((b) => !b.text.includes('Second')));
});

test('a repetition loop cut at the length limit, inside a tag: no tag leaks, the half box is dropped', () => {
  const { parsed } = golden('loop-cut-at-length');
  assert.equal(parsed.blocks.length, 2);
  assert.ok(parsed.markdown.endsWith('<tr><td>1</td><td>0.'));
});

test('Chinese with LaTeX and a spanned table: text and formulas kept as written (only \\coloneqq rewritten)', () => {
  const { parsed } = golden('chinese-tables-latex');
  const [title, text, eq, table, caption, image, imageCaption] = parsed.blocks;
  assert.equal(title.text, '第三章 热力学基础');
  assert.equal(text.text, '理想气体满足状态方程 \\(pV = nRT\\)，其中 \\(R\\) 为摩尔气体常数。');
  assert.equal(eq.text, '\\[ \\Delta U := Q - W \\]');
  assert.equal(table.text.split('\n')[0], '气体\t比热容 (J/(kg·K))\t比热容 (J/(kg·K))');
  assert.equal(caption.text, '表 3-1 常见气体的比热容');
  assert.equal(image.text, '![](images/2_0.jpg)');
  assert.equal(imageCaption.text, '图 3-2 卡诺循环示意图');
});
