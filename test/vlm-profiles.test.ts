/**
 * The model profiles' parsers and requests on answers in the shapes each model's official
 * post-processing code accepts (dots_ocr/utils/output_cleaner.py and layout_utils.py,
 * chandra/output.py, mineru_vl_utils/mineru_client.py and post_process, PaddleX's paddleocr_vl
 * pipeline, olmocr/train/front_matter.py, DeepSeek-OCR-2's run_dpsk_ocr2_*.py), their error cases
 * included: a loop cut at max_tokens, malformed tags, cut-off JSON. These answers are written for the
 * tests from those shapes, not transcripts (the real answers are in vlm-golden.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseChandraOutput, CHANDRA_LAYOUT_PROMPT } from '../services/ocr/engines/vllm/chandra.ts';
import { parseDotsOutput, readCells, DOTS_LAYOUT_PROMPT } from '../services/ocr/engines/vllm/dots.ts';
import { assembleMinerU, parseMinerULayout, MINERU_PROMPTS } from '../services/ocr/engines/vllm/mineru.ts';
import { parseNanonetsOutput } from '../services/ocr/engines/vllm/nanonets.ts';
import { parseOlmOcrOutput } from '../services/ocr/engines/vllm/olmocr.ts';
import { parsePaddleOutput } from '../services/ocr/engines/vllm/paddleocr-vl.ts';
import { chandraSize, deepseek2ImageTokens, PROFILE_NAMES, PROFILES, profileByName } from '../services/ocr/engines/vllm/profiles.ts';
import { otslToHtml, smartResize, truncateRepetitive } from '../services/ocr/engines/vllm/vlm-text.ts';
import { parseHtmlTable } from '../shared/document/index.ts';
import { loadConfig } from '../shared/config/index.ts';

const png = Buffer.from('89504e470d0a1a0a', 'hex');
const body = (name: string, prompt: string) => profileByName(name).body({ model: 'm', image: png, prompt, maxTokens: 1000 }) as Record<string, any>;

describe('profiles: one per model, chosen by configuration', () => {
  it('every profile name is accepted by VLLM_PROFILES, and an unknown one refused at start-up', () => {
    const env = { NATS_URL: 'nats://127.0.0.1:4222', VLLM_BASE_URLS: 'http://a:8000' };
    assert.deepEqual(loadConfig({ ...env, VLLM_PROFILES: PROFILE_NAMES.join(',') }).ocr.vllm.profiles, [...PROFILE_NAMES]);
    assert.throws(() => loadConfig({ ...env, VLLM_PROFILES: 'gpt-ocr' }), /VLLM_PROFILES/);
  });
  it('each profile has a prompt for every task and a model id', () => {
    for (const name of PROFILE_NAMES) {
      const p = PROFILES[name];
      for (const task of ['markdown', 'ocr', 'free', 'figure', 'describe'] as const) assert.ok(p.prompts[task].length > 0, `${name} ${task}`);
      assert.match(p.hfModel, /^[\w.-]+\/[\w.-]+$/);
    }
  });
});

describe('DeepSeek-OCR-2: v1 grammar, its own tiling and n-gram window', () => {
  it('asks like v1 (no system message, special tokens kept) with the image script n-gram settings 20/90', () => {
    const b = body('deepseek-ocr-2', '<|grounding|>Convert the document to markdown.');
    assert.equal(b.messages.length, 1);
    assert.deepEqual(
      b.messages[0].content.map((c: { type: string }) => c.type),
      ['image_url', 'text'],
    );
    assert.equal(b.skip_special_tokens, false);
    assert.deepEqual(b.vllm_xargs, { ngram_size: 20, window_size: 90, whitelist_token_ids: [128821, 128822] });
  });
  it('counts 256 + 1 + 144 per 768 px tile (≤ 6), none for a small image', () => {
    assert.equal(deepseek2ImageTokens(700, 700), 257);
    assert.equal(deepseek2ImageTokens(1414, 2000), 257 + 6 * 144);
    assert.equal(deepseek2ImageTokens(2000, 1000), 257 + 2 * 144);
  });
  it('parses the v1 grammar with /999 boxes', () => {
    const p = profileByName('deepseek-ocr-2');
    const out = p.parse(
      '<|ref|>title<|/ref|><|det|>[[0, 0, 999, 99]]<|/det|>\n# Report\n\n<|ref|>text<|/ref|><|det|>[[0, 100, 999, 200]]<|/det|>\nBody.',
      999,
      999,
      { page: 1, task: 'markdown', prompt: p.prompts.markdown },
    );
    assert.deepEqual(
      out.blocks.map((b) => [b.type, b.bbox, b.text]),
      [
        ['title', [0, 0, 999, 99], 'Report'],
        ['text', [0, 100, 999, 200], 'Body.'],
      ],
    );
  });
});

describe('dots.ocr: JSON cells with boxes in pixels of the smart-resized image', () => {
  it('smart_resize rounds each side to a multiple of 28 and caps the area (Qwen2-VL)', () => {
    assert.deepEqual(smartResize(2200, 1700), { height: 2212, width: 1708 });
    assert.deepEqual(smartResize(1000, 1000), { height: 1008, width: 1008 });
    const big = smartResize(6000, 4000);
    assert.ok(big.height * big.width <= 11_289_600 && big.height % 28 === 0 && big.width % 28 === 0);
    assert.deepEqual(smartResize(10, 10), { height: 56, width: 56 });
  });
  it('maps boxes back to the page by repeating the resize, types every category, drops headers/footers from the Markdown', () => {
    // Page 1700×2200 → the model saw 1708×2212.
    const raw = JSON.stringify([
      { bbox: [100, 50, 1600, 90], category: 'Page-header', text: 'Annual report 2025' },
      { bbox: [100, 120, 1600, 200], category: 'Title', text: '# Results' },
      { bbox: [100, 220, 1600, 400], category: 'Text', text: 'Revenue grew by **12%** in `$Q_3$`.' },
      { bbox: [100, 420, 1600, 460], category: 'Caption', text: 'Table 1: Revenue' },
      { bbox: [100, 470, 1600, 800], category: 'Table', text: '<table><tr><th>Year</th><th>Revenue</th></tr><tr><td>2025</td><td>12</td></tr></table>' },
      { bbox: [400, 820, 1300, 900], category: 'Formula', text: '$$E = mc^2$$' },
      { bbox: [100, 920, 900, 1600], category: 'Picture' },
      { bbox: [100, 1620, 1600, 1660], category: 'List-item', text: '- first point' },
      { bbox: [100, 1700, 1600, 1760], category: 'Footnote', text: '1 Unaudited.' },
      { bbox: [800, 2150, 900, 2190], category: 'Page-footer', text: '3' },
    ]);
    const out = parseDotsOutput(raw, 1700, 2200);
    assert.equal(out.repaired, false);
    assert.deepEqual(
      out.blocks.map((b) => b.type),
      ['header', 'title', 'text', 'caption', 'table', 'equation', 'image', 'list_item', 'footnote', 'footer'],
    );
    assert.deepEqual(out.blocks[1].bbox, [
      Math.round((100 * 1700) / 1708),
      Math.round((120 * 2200) / 2212),
      Math.round((1600 * 1700) / 1708),
      Math.round((200 * 2200) / 2212),
    ]);
    assert.ok(!out.markdown.includes('Annual report') && !out.markdown.includes('\n3'));
    assert.match(out.markdown, /^# Results\n\nRevenue grew by \*\*12%\*\* in \$Q_3\$\./);
    assert.match(out.markdown, /\$\$\nE = mc\^2\n\$\$/);
    assert.deepEqual(parseHtmlTable(out.blocks[4].html!).grid, [
      ['Year', 'Revenue'],
      ['2025', '12'],
    ]);
    assert.equal(out.blocks[4].text, 'Year\tRevenue\n2025\t12');
  });
  it('repairs JSON cut off at max_tokens inside a looping cell: every complete cell kept, duplicates dropped', () => {
    const cell = { bbox: [10, 10, 500, 40], category: 'Text', text: '______' };
    const full = JSON.stringify([{ bbox: [10, 0, 500, 9], category: 'Title', text: 'Form' }, ...Array.from({ length: 20 }, () => cell)]);
    const cut = full.slice(0, full.length - 30);
    const out = parseDotsOutput(cut, 1000, 1000);
    assert.equal(out.repaired, true);
    assert.deepEqual(
      out.blocks.map((b) => [b.type, b.text]),
      [
        ['title', 'Form'],
        ['text', '______'],
      ],
    );
  });
  it('repairs a missing delimiter between cells (`}{`) and drops a box without four numbers', () => {
    const raw =
      '[{"bbox": [1, 2, 300, 40], "category": "Text", "text": "one"}{"bbox": [1, 50, 300], "category": "Text", "text": "bad box"}, {"bbox": [1, 90, 300, 120], "category": "Text", "text": "two"}]';
    assert.deepEqual(
      readCells(raw).cells.map((c) => c.text),
      ['one', 'two'],
    );
  });
  it('reads a cell whose string was cut by the next cell starting (`"text": "abc{"bbox": …`) as lost, the next kept', () => {
    const raw =
      '[{"bbox": [1, 2, 300, 40], "category": "Text", "text": "one"}, {"bbox": [1, 50, 300, 80], "category": "Text", "text": "cut here {"bbox": [1, 90, 300, 120], "category": "Text", "text": "two"}]';
    const texts = readCells(raw).cells.map((c) => c.text);
    assert.equal(texts[0], 'one');
  });
  it('reads raw line breaks inside a cell string (a table written over lines) and a ```json fence', () => {
    const raw = '```json\n[{"bbox": [1, 2, 300, 40], "category": "Table", "text": "<table>\n<tr><td>a</td></tr>\n</table>"}]\n```';
    const { cells, repaired } = readCells(raw);
    assert.equal(repaired, true);
    assert.deepEqual(
      cells.map((c) => c.text),
      ['<table>\n<tr><td>a</td></tr>\n</table>'],
    );
  });
  it('the text-only prompt (prompt_ocr) answers Markdown, read as such', () => {
    const out = parseDotsOutput('# Title\n\nSome text.', 800, 1000, { textOnly: true });
    assert.deepEqual(
      out.blocks.map((b) => b.type),
      ['title', 'text'],
    );
  });
  it('asks with the image placeholder before the layout prompt, temperature 0.1, top_p 1.0', () => {
    const b = body('dots-ocr', DOTS_LAYOUT_PROMPT);
    assert.equal(b.messages[0].content[1].text, '<|img|><|imgpad|><|endofimg|>' + DOTS_LAYOUT_PROMPT);
    assert.equal(b.temperature, 0.1);
    assert.equal(b.top_p, 1.0);
  });
});

describe('Chandra: HTML layout divs on a 0–1024 grid', () => {
  it('reads every label, a JSON-list bbox too, lists and headings, and drops nothing but headers/footers from the Markdown', () => {
    const raw = [
      '<div data-bbox="0 0 1024 40" data-label="Page-Header"><p>ACME Corp — Q3</p></div>',
      '<div data-bbox="[50, 60, 974, 110]" data-label="Section-Header"><h1>Quarterly results</h1></div>',
      '<div data-bbox="50 120 974 200" data-label="Text"><p>Sales rose <b>8%</b>; see <i>Table 2</i>.<br>New line.</p></div>',
      '<div data-bbox="50 210 974 300" data-label="List-Group"><ul><li>East</li><li>West</li></ul></div>',
      '<div data-bbox="50 310 974 330" data-label="Caption"><p>Table 2: Sales</p></div>',
      '<div data-bbox="50 340 974 500" data-label="Table"><table><tr><th rowspan="2">Region</th><th colspan="2">Sales</th></tr><tr><th>Q2</th><th>Q3</th></tr><tr><td>East</td><td>1</td><td><math>\\alpha</math></td></tr></table></div>',
      '<div data-bbox="50 520 974 600" data-label="Image"><img alt="Bar chart of sales by region"/></div>',
      '<div data-bbox="50 620 974 640" data-label="Form"><p><input type="checkbox" checked> Approved <input type="checkbox"> Rejected</p></div>',
      '<div data-bbox="460 1000 560 1024" data-label="Page-Footer">3</div>',
    ].join('');
    const out = parseChandraOutput(raw, 2048, 1024);
    assert.deepEqual(
      out.blocks.map((b) => b.type),
      ['header', 'title', 'text', 'list_item', 'caption', 'table', 'image', 'text', 'footer'],
    );
    assert.deepEqual(out.blocks[1].bbox, [100, 60, 1948, 110]);
    assert.match(out.markdown, /^# Quarterly results\n\nSales rose \*\*8%\*\*; see \*Table 2\*\.\nNew line\.\n\n- East\n- West\n\nTable 2: Sales\n\n<table>/);
    assert.match(out.markdown, /<td>\$\\alpha\$<\/td>/);
    assert.match(out.markdown, /!\[Bar chart of sales by region\]\(\)/);
    assert.match(out.markdown, /☑ Approved ☐ Rejected/);
    assert.ok(!out.markdown.includes('ACME'));
    assert.deepEqual(parseHtmlTable(out.blocks[5].html!).grid[0], ['Region', 'Sales', 'Sales']);
  });
  it('a loop cut inside an open div and a div without a box: text kept, the box the page', () => {
    const out = parseChandraOutput(
      '<div data-label="Text"><p>no box</p></div><div data-bbox="0 0 512 512" data-label="Text"><p>' + 'again '.repeat(50),
      1024,
      1024,
    );
    assert.deepEqual(
      out.blocks.map((b) => b.bbox),
      [
        [0, 0, 1024, 1024],
        [0, 0, 512, 512],
      ],
    );
    assert.match(out.blocks[1].text, /^again again/);
  });
  it('"OCR this image to HTML." without layout: one block over the page', () => {
    const out = parseChandraOutput('<p>Hello <math>x^2</math></p>', 800, 600);
    assert.deepEqual(
      out.blocks.map((b) => [b.type, b.bbox]),
      [['text', [0, 0, 800, 600]]],
    );
    assert.equal(out.markdown, 'Hello $x^2$');
  });
  it('sends pages with the short side at least 1536 px and at most 3072 × 2048 px in area', () => {
    assert.deepEqual(chandraSize(1224, 1584), { width: 1536, height: 1988 });
    assert.deepEqual(chandraSize(1700, 2200), { width: 1700, height: 2200 });
    const big = chandraSize(3400, 4400);
    assert.ok(big.width * big.height <= 3072 * 2048 && big.width / big.height - 3400 / 4400 < 0.01);
  });
  it('asks with the 1024 scale in the prompt, greedy with top_p 0.1', () => {
    assert.match(CHANDRA_LAYOUT_PROMPT, /Bboxes are normalized 0-1024\./);
    const b = body('chandra', CHANDRA_LAYOUT_PROMPT);
    assert.deepEqual([b.temperature, b.top_p], [0, 0.1]);
    assert.deepEqual(
      b.messages[0].content.map((c: { type: string }) => c.type),
      ['image_url', 'text'],
    );
  });
});

describe('olmOCR-2: front matter, text before image', () => {
  it('sends the prompt text before the image, temperature 0.1, no system message', () => {
    const b = body('olmocr-2', profileByName('olmocr-2').prompts.markdown);
    assert.equal(b.messages.length, 1);
    assert.deepEqual(
      b.messages[0].content.map((c: { type: string }) => c.type),
      ['text', 'image_url'],
    );
    assert.equal(b.temperature, 0.1);
  });
  it('an answer cut inside the front matter has no page text; one without front matter is all page', () => {
    assert.equal(parseOlmOcrOutput('---\nprimary_language: en\nis_rotation_valid: Tr', 100, 100).markdown, '');
    assert.equal(parseOlmOcrOutput('Just text.', 100, 100).markdown, 'Just text.');
  });
  it('reads a rotated page and the "null" page', () => {
    const r = parseOlmOcrOutput(
      '---\nprimary_language: null\nis_rotation_valid: false\nrotation_correction: 90\nis_table: false\nis_diagram: false\n---\nnull',
      100,
      100,
    );
    assert.deepEqual(r.front, { primary_language: null, is_rotation_valid: false, rotation_correction: 90, is_table: false, is_diagram: false });
    assert.equal(r.markdown, '');
  });
});

describe('Nanonets-OCR2: tagged Markdown', () => {
  it('<img>, <watermark>, <signature>, a lone <page_number>, checkboxes', () => {
    const out = parseNanonetsOutput(
      '# Lease\n\nSigned: <signature>J. Doe</signature>\n\n<img>A floor plan of the flat</img>\n\n<watermark>COPY</watermark>\n\n☑ Pets allowed ☐ Smoking\n\n<page_number>9/22</page_number>',
      1000,
      1400,
    );
    assert.deepEqual(
      out.blocks.map((b) => [b.type, b.text]),
      [
        ['title', 'Lease'],
        ['text', 'Signed: J. Doe'],
        ['image', '![A floor plan of the flat]()'],
        ['text', '☑ Pets allowed ☐ Smoking'],
        ['watermark', 'COPY'],
        ['page_number', '9/22'],
      ],
    );
    assert.ok(!/COPY|9\/22|<\w+>/.test(out.markdown));
  });
  it('asks with a system message and the cookbook prompt, greedy', () => {
    const b = body('nanonets-ocr2', profileByName('nanonets-ocr2').prompts.markdown);
    assert.deepEqual(
      b.messages.map((m: { role: string }) => m.role),
      ['system', 'user'],
    );
    assert.equal(b.temperature, 0);
  });
});

describe('OTSL tables (MinerU2.5, PaddleOCR-VL) → HTML', () => {
  it('spans from lcel (left), ucel (up) and xcel (both); rows padded to the widest', () => {
    const html = otslToHtml('<fcel>Name<fcel>Score<lcel><nl><fcel>A<fcel>1<fcel>2<nl><ucel><fcel>3<fcel>4<nl><fcel>B<ecel><nl>');
    assert.equal(
      html,
      '<table><tr><td>Name</td><td colspan="2">Score</td></tr><tr><td rowspan="2">A</td><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr><tr><td>B</td><td></td><td></td></tr></table>',
    );
    assert.equal(otslToHtml('<fcel>a<lcel><nl><ucel><xcel><nl>'), '<table><tr><td rowspan="2" colspan="2">a</td></tr><tr></tr></table>');
  });
  it('escapes cell text and keeps a table cut mid-row', () => {
    assert.equal(otslToHtml('<fcel>a<b<fcel>c&d<nl><fcel>cut'), '<table><tr><td>a&lt;b</td><td>c&amp;d</td></tr><tr><td>cut</td><td></td></tr></table>');
  });
});

describe('PaddleOCR-VL: whole-page task prompts', () => {
  it('"Table Recognition:" answers OTSL → one table block', () => {
    const out = parsePaddleOutput('<fcel>Item<fcel>Qty<nl><fcel>Pen<fcel>2<nl>', 600, 400, 'Table Recognition:');
    assert.deepEqual(
      out.blocks.map((b) => [b.type, b.text]),
      [['table', 'Item\tQty\nPen\t2']],
    );
  });
  it('"Formula Recognition:" answers LaTeX → one equation block', () => {
    const out = parsePaddleOutput('\\[ \\frac{a}{b} \\]', 600, 400, 'Formula Recognition:');
    assert.deepEqual(
      out.blocks.map((b) => [b.type, b.text]),
      [['equation', '$$\n\\frac{a}{b}\n$$']],
    );
  });
  it('a phrase loop is cut to the text before it plus one unit (truncate_repetitive_content), and says so', () => {
    const out = parsePaddleOutput('Total amount due\n' + 'see the next page. '.repeat(60), 600, 400, 'OCR:');
    assert.equal(out.truncatedLoop, true);
    // The unit is found from the end (" see the next page."), so the loop's first copy stays too.
    assert.equal(out.markdown, 'Total amount due\n\nsee the next page. see the next page.');
  });
  it('sends the recogniser pixel bounds and no system message', () => {
    const b = body('paddleocr-vl', 'OCR:');
    assert.deepEqual(b.mm_processor_kwargs, { min_pixels: 112_896, max_pixels: 1_003_520 });
    assert.equal(b.messages.length, 1);
  });
  it('truncateRepetitive leaves short and ordinary texts alone', () => {
    assert.equal(truncateRepetitive('ha ha ha ha ha ha').cut, false);
    assert.equal(truncateRepetitive('x'.repeat(49)).cut, false);
    assert.equal(truncateRepetitive('The quick brown fox.\n'.repeat(3) + 'Another line entirely different from the rest.').cut, false);
    const r = truncateRepetitive('a'.repeat(60));
    assert.ok(r.cut && r.text.length <= 12);
  });
});

describe('MinerU2.5: layout on 0–1000, then one answer per block', () => {
  const layout = [
    '<|box_start|>100 20 900 40<|box_end|><|ref_start|>header<|ref_end|><|rotate_up|>',
    '<|box_start|>100 60 900 100<|box_end|><|ref_start|>title<|ref_end|><|rotate_up|>',
    '<|box_start|>900 300 100 120<|box_end|><|ref_start|>text<|ref_end|><|rotate_up|>', // swapped corners
    '<|box_start|>100 320 900 340<|box_end|><|ref_start|>table_caption<|ref_end|><|rotate_up|>',
    '<|box_start|>100 350 900 600<|box_end|><|ref_start|>table<|ref_end|><|rotate_up|>',
    '<|box_start|>150 400 300 420<|box_end|><|ref_start|>text<|ref_end|><|rotate_up|>', // inside the table: dropped
    '<|box_start|>300 620 700 660<|box_end|><|ref_start|>equation<|ref_end|><|rotate_up|>',
    '<|box_start|>20 100 60 900<|box_end|><|ref_start|>aside_text<|ref_end|><|rotate_right|>',
    '<|box_start|>100 700 500 900<|box_end|><|ref_start|>unknown<|ref_end|><|rotate_up|>', // → image
    '<|box_start|>100 700 500 1200<|box_end|><|ref_start|>text<|ref_end|><|rotate_up|>', // out of range: dropped
    '<|box_start|>100 910 100 950<|box_end|><|ref_start|>text<|ref_end|><|rotate_up|>', // zero width: dropped
    '<|box_start|>100 910 900 950<|box_end|><|ref_start|>inline_formula<|ref_end|><|rotate_up|>', // skipped
    '<|box_start|>100 910 900 950<|box_end|><|ref_start|>sticker<|ref_end|><|rotate_up|>', // unknown type: skipped
    '<|box_start|>450 960 550 980<|box_end|><|ref_start|>page_number<|ref_end|><|rotate_up|>',
    '<|box_start|>100 985 900 99', // cut at max_tokens mid-entry
  ].join('\n');

  it('reads the layout: page pixels, corners fixed, bad boxes and types dropped, angles kept, a prompt per block', () => {
    const blocks = parseMinerULayout(layout, 2000, 3000);
    assert.deepEqual(
      blocks.map((b) => b.type),
      ['header', 'title', 'text', 'table_caption', 'table', 'equation', 'aside_text', 'image', 'page_number'],
    );
    assert.deepEqual(blocks[2].bbox, [200, 360, 1800, 900]);
    assert.equal(blocks[6].angle, 90);
    assert.deepEqual(
      blocks.map((b) => b.prompt),
      [
        MINERU_PROMPTS.text,
        MINERU_PROMPTS.text,
        MINERU_PROMPTS.text,
        MINERU_PROMPTS.text,
        MINERU_PROMPTS.table,
        MINERU_PROMPTS.equation,
        MINERU_PROMPTS.text,
        null,
        MINERU_PROMPTS.text,
      ],
    );
  });
  it('assembles the answers: OTSL → HTML, LaTeX → $$, paratext typed and out of the Markdown', () => {
    const blocks = parseMinerULayout(layout, 2000, 3000);
    const answers = [
      'Journal of Tests',
      'Results',
      'We measured \\(x\\).',
      'Table 1: Data',
      '<fcel>k<fcel>v<nl><fcel>a<fcel>1<nl>',
      '\\[E=mc^2\\]',
      'arXiv:2501.00001',
      null,
      '7',
    ];
    const out = assembleMinerU(blocks, answers);
    assert.equal(
      out.markdown,
      '# Results\n\nWe measured \\(x\\).\n\nTable 1: Data\n\n<table><tr><td>k</td><td>v</td></tr><tr><td>a</td><td>1</td></tr></table>\n\n$$\nE=mc^2\n$$\n\n![]()',
    );
    assert.deepEqual(
      out.blocks.map((b) => b.type),
      ['header', 'title', 'text', 'table_caption', 'table', 'equation', 'aside_text', 'image', 'page_number'],
    );
    assert.equal(out.blocks[4].text, 'k\tv\na\t1');
  });
  it('asks with the system message, special tokens kept, the n-gram guard and the per-type penalties', () => {
    const l = body('mineru-2.5', MINERU_PROMPTS.layout);
    assert.deepEqual(
      l.messages.map((m: { role: string }) => m.role),
      ['system', 'user'],
    );
    assert.deepEqual([l.skip_special_tokens, l.vllm_xargs.no_repeat_ngram_size, l.presence_penalty, l.top_k], [false, 100, 0, 1]);
    const t = body('mineru-2.5', MINERU_PROMPTS.table);
    assert.deepEqual([t.presence_penalty, t.frequency_penalty], [1.0, 0.005]);
    const x = body('mineru-2.5', MINERU_PROMPTS.text);
    assert.deepEqual([x.presence_penalty, x.frequency_penalty], [1.0, 0.05]);
  });
});
