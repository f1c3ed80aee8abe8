// Columns from the page, not from the detector's boxes: a box that crosses a column gutter or a
// ruling line is cut there before it is read, never inside a word; photos and drawings are kept
// out of the text and come back as figure blocks.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import type { Block } from '../shared/bus/index.ts';
import type { RawImage } from '../services/ocr/engines/cpu/line-crops.ts';
import type { Quad } from '../services/ocr/engines/cpu/line-boxes.ts';
import { planPage } from '../services/ocr/engines/cpu/page-regions.ts';
import { findFigures, withFigures } from '../services/ocr/engines/cpu/figures-cpu.ts';
import { createCpuEngine } from '../services/ocr/engines/cpu/engine.ts';

/** Deterministic pseudo-random numbers in [0, 1) (a fixed LCG), so a failure reproduces. */
function random(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
}

function blank(width: number, height: number): RawImage {
  return { data: new Uint8Array(width * height * 3).fill(255), width, height };
}

function fill(img: RawImage, x0: number, y0: number, x1: number, y1: number, grey = 0) {
  for (let y = Math.max(0, y0); y < Math.min(img.height, y1); y++)
    img.data.fill(grey, (y * img.width + Math.max(0, x0)) * 3, (y * img.width + Math.min(img.width, x1)) * 3);
}

const box = (x0: number, y0: number, x1: number, y1: number): Quad => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
];

/**
 * Lines of "words" (ink blocks one ink height `h` tall) justified in columns `width` wide, with
 * word spaces of 0.25–0.45 h: as wide as the gutter in a tight magazine layout. Each row of lines
 * gets one box across every column, as the detector draws them when the gutter is narrow.
 */
function columnsPage(opts: { columns: number; gutter: number; lines: number; h?: number; width?: number; seed?: number }) {
  const h = opts.h ?? 20;
  const width = opts.width ?? 400;
  const left = 30;
  const pitch = Math.round(h * 1.5);
  const img = blank(left * 2 + opts.columns * width + (opts.columns - 1) * opts.gutter, opts.lines * pitch + 60);
  const rnd = random(opts.seed ?? 1);
  const quads: Quad[] = [];
  for (let l = 0; l < opts.lines; l++) {
    const y = 30 + l * pitch;
    for (let c = 0; c < opts.columns; c++) {
      const x0 = left + c * (width + opts.gutter);
      // Words, then the spaces stretched so the line fills the column exactly (justified).
      // Word spaces of 0.35 h on average (0.25–0.45 h), the last word sized to end the line.
      const words: number[] = [];
      let used = 0;
      while (used < width - 2.5 * h) {
        const w = Math.round(h * (0.8 + rnd() * 2));
        words.push(w);
        used += w + 0.35 * h;
      }
      words.push(Math.round(width - used));
      const inked = words.reduce((a, b) => a + b, 0);
      // Spaces of uneven width (word spaces vary with the letters around them) that still fill the line.
      const jitter = words.slice(1).map(() => 0.7 + rnd() * 0.6);
      const unit = (width - inked) / jitter.reduce((a, b) => a + b, 0);
      let x = x0;
      for (const [k, w] of words.entries()) {
        fill(img, Math.round(x), y, Math.round(x + w), y + h);
        x += w + (jitter[k] ?? 0) * unit;
      }
    }
    quads.push(box(left - 6, y - 6, img.width - left + 6, y + h + 6));
  }
  return { img, quads, h, gutterAt: (c: number) => left + c * (width + opts.gutter) + width - 4 };
}

describe('gutters: a box across columns is cut where the page is blank through many lines', () => {
  test('two justified columns with a gutter as narrow as their word spaces: every line cut once, in the gutter', () => {
    const { img, quads, gutterAt } = columnsPage({ columns: 2, gutter: 8, lines: 12 });
    const plan = planPage(img, quads);
    for (const [i, cuts] of plan.cuts.entries()) {
      assert.equal(cuts.length, 1, `line ${i}: ${JSON.stringify(cuts)}`);
      assert.equal(cuts[0].kind, 'gutter');
      assert.ok(cuts[0].from >= gutterAt(0) - 20 && cuts[0].to <= gutterAt(0) + 30, JSON.stringify(cuts[0]));
      assert.equal(plan.pieces[i].length, 2);
    }
  });

  test('a headline across the columns whose word space sits over the gutter is not cut', () => {
    const { img, quads, gutterAt } = columnsPage({ columns: 2, gutter: 8, lines: 12 });
    // Twice the body's size, in the top margin: two words either side of the gutter.
    const g = gutterAt(0);
    const headline = blank(img.width, img.height + 60);
    headline.data.set(img.data, img.width * 60 * 3);
    fill(headline, 40, 10, g - 2, 50);
    fill(headline, g + 14, 10, img.width - 60, 50);
    const moved = quads.map((q) => q.map(([x, y]) => [x, y + 60]) as Quad);
    const plan = planPage(headline, [box(34, 4, img.width - 54, 56), ...moved]);
    assert.equal(plan.cuts[0].length, 0, JSON.stringify(plan.cuts[0]));
    assert.ok(plan.cuts.slice(1).every((c) => c.length === 1));
  });

  test('three columns: two cuts a line', () => {
    const { img, quads } = columnsPage({ columns: 3, gutter: 10, lines: 10, seed: 5 });
    for (const cuts of planPage(img, quads).cuts)
      assert.deepEqual(
        cuts.map((c) => c.kind),
        ['gutter', 'gutter'],
      );
  });

  test('one justified column: word spaces never line up long enough to be a gutter', () => {
    for (const seed of [1, 2, 3, 4]) {
      const { img, quads } = columnsPage({ columns: 1, gutter: 0, lines: 14, width: 800, seed });
      const cut = planPage(img, quads).cuts.flat();
      assert.equal(cut.length, 0, `seed ${seed}: ${JSON.stringify(cut)}`);
    }
  });

  test('the blank beside a tabular "1" lined up down a column of numbers is inside a number, not a gutter', () => {
    // Rows of "1,144  193.5": the "1" of the second number stands 5 px (0.25 h) clear of the
    // digits after it in every row, so the blank runs down the whole table.
    const img = blank(400, 40 * 20 + 40);
    const quads: Quad[] = [];
    for (let r = 0; r < 20; r++) {
      const y = 20 + r * 40;
      fill(img, 40, y, 110, y + 20); // 1,144
      fill(img, 130, y, 136, y + 20); // 1
      fill(img, 141, y, 200, y + 20); // 93.5
      quads.push(box(34, y - 6, 206, y + 26));
    }
    assert.equal(planPage(img, quads).cuts.flat().length, 0);
  });

  test('a short stretch of aligned word spaces (two or three lines) is not a gutter', () => {
    const { img, quads } = columnsPage({ columns: 1, gutter: 0, lines: 8, width: 800, seed: 9 });
    // A blank strip 8 px wide punched through lines 2–4 only: a river, not a column edge.
    for (let l = 2; l <= 4; l++) fill(img, 400, 30 + l * 30 - 2, 408, 30 + l * 30 + 22, 255);
    assert.equal(planPage(img, quads).cuts.flat().length, 0);
  });
});

describe('ruling lines: a table cell rule inside a box is a cut, a letter stem is not', () => {
  // One table row: two cells' words with a 2 px rule between them that runs from the row's top
  // rule to its bottom rule, past the text on both sides.
  function row(stem = false) {
    const img = blank(600, 120);
    fill(img, 20, 30, 580, 32); // top rule
    fill(img, 20, 88, 580, 90); // bottom rule
    fill(img, 40, 50, 160, 70); // "Revenue (USD)"
    fill(img, 170, 50, 240, 70);
    if (stem)
      fill(img, 250, 50, 252, 70); // a stem as tall as the text: "l", "|", ")"
    else fill(img, 254, 30, 256, 90); // the cell rule
    fill(img, 262, 50, 340, 70); // "Orders", 6 px past the rule
    return { img, quads: [box(34, 44, 346, 76)] };
  }

  test('the rule is cut out and both cells become their own pieces', () => {
    const { img, quads } = row();
    const plan = planPage(img, quads);
    assert.deepEqual(
      plan.cuts[0].map((c) => c.kind),
      ['rule'],
    );
    const [a, b] = plan.pieces[0].map((p) => [p.from, p.to]);
    const at = (t: number) => 34 + t * (346 - 34);
    assert.ok(at(a[1]) <= 255 && at(b[0]) >= 255 && at(b[0]) <= 262, JSON.stringify(plan.pieces[0]));
  });

  test('dense scanner noise inks every row of a thin strip without being a rule', () => {
    const img = blank(600, 120);
    const rnd = random(11);
    for (let y = 0; y < 120; y++) for (let x = 0; x < 600; x++) if (rnd() < 0.4) fill(img, x, y, x + 1, y + 1, 60);
    fill(img, 40, 50, 160, 70);
    fill(img, 170, 50, 340, 70);
    assert.equal(planPage(img, [box(34, 44, 346, 76)]).cuts[0].filter((c) => c.kind === 'rule').length, 0);
  });

  test('a stroke no taller than the text is a letter, not a rule', () => {
    const { img, quads } = row(true);
    assert.equal(planPage(img, quads).cuts[0].filter((c) => c.kind === 'rule').length, 0);
  });
});

describe('figures: photos and drawings are found and kept out of the text', () => {
  function page(photo: boolean) {
    const { img, quads } = columnsPage({ columns: 1, gutter: 0, lines: 20, width: 700 });
    if (photo) {
      // A halftone: dots of every grey over a 300 × 240 area between paragraphs, with no text box on it.
      const rnd = random(3);
      fill(img, 0, 174, img.width, 444, 255); // the lines it replaces
      for (let y = 200; y < 440; y++) for (let x = 200; x < 500; x++) if (rnd() < 0.7) fill(img, x, y, x + 1, y + 1, Math.floor(rnd() * 180));
      return { img, quads: quads.filter((q) => q[2][1] - 6 <= 174 || q[0][1] + 6 >= 444) };
    }
    return { img, quads };
  }

  test('a halftone area is one figure around it', () => {
    const { img, quads } = page(true);
    const figs = findFigures(img, quads, 32);
    assert.equal(figs.length, 1, JSON.stringify(figs));
    const [x1, y1, x2, y2] = figs[0];
    // Its edges to within a cell (half a line height, 16 px here).
    for (const [got, want] of [
      [x1, 200],
      [y1, 200],
      [x2, 500],
      [y2, 440],
    ])
      assert.ok(Math.abs(got - want) <= 16, JSON.stringify(figs[0]));
  });

  test('a page of text has none', () => {
    const { img, quads } = page(false);
    assert.deepEqual(findFigures(img, quads, 32), []);
  });

  test('figure blocks are linked as the vLLM path links them and placed before the text below them', () => {
    const blocks: Block[] = [
      { type: 'title', bbox: [10, 10, 500, 40], text: 'Report' },
      { type: 'text', bbox: [10, 400, 500, 460], text: 'Below the photo, the story goes on.' },
    ];
    const { markdown, blocks: out } = withFigures('# Report\n\nBelow the photo, the story goes on.', blocks, [[20, 60, 480, 380]], 3);
    assert.equal(markdown, '# Report\n\n![](images/3_0.jpg)\n\nBelow the photo, the story goes on.');
    assert.deepEqual(
      out.map((b) => b.type),
      ['title', 'image', 'text'],
    );
    assert.deepEqual(out[1], { type: 'image', bbox: [20, 60, 480, 380], text: '![](images/3_0.jpg)' });
  });
});

describe('CPU engine on real crops', () => {
  const engine = createCpuEngine({ workers: 1 });
  after(() => engine.close());
  const read = async (name: string) => {
    const { data, info } = await sharp(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)))
      .png()
      .toBuffer({ resolveWithObject: true });
    return engine.recognize({ page: 1, image: data, width: info.width, height: info.height, task: 'markdown' }, AbortSignal.timeout(120_000));
  };

  test("the README demo's scanned table reads its header as three cells (the box crossed the cell rule)", async () => {
    const out = await read('english_scan.jpg');
    assert.ok(out.markdown.includes('| Region | Revenue (USD) | Orders |\n| --- | --- | --- |'), out.markdown);
  });

  test('a magazine page with a 30 px gutter (US BLS, Monthly Labor Review) reads column by column', async () => {
    const out = await read('columns_blsmlr.png');
    const md = out.markdown;
    // No line is half of one column and half of the next.
    assert.doesNotMatch(md, /Labor reach|which of agricultural|the employed|in and wage|and decline/, md);
    const at = (s: string) => md.indexOf(s);
    for (const s of ['Bureau of Labor', 'began', 'retrospect', 'reach 150.2 million', '776,800']) assert.ok(at(s) >= 0, `${s}:\n${md}`);
    assert.ok(at('Bureau of Labor') < at('retrospect') && at('retrospect') < at('reach 150.2 million') && at('reach 150.2 million') < at('776,800'), md);
    // The drop cap is a letter, not a figure.
    assert.ok(
      out.blocks.every((b) => b.type !== 'image'),
      JSON.stringify(out.blocks.map((b) => b.type)),
    );
  });

  test('a shaded drawing (FAA handbook, figure 7-27) is one linked figure block between the text above it and its caption; its labels are kept', async () => {
    const out = await read('figure_faa.jpg');
    const figs = out.blocks.filter((b) => b.type === 'image');
    assert.equal(figs.length, 1, JSON.stringify(out.blocks));
    const [x1, y1, x2, y2] = figs[0].bbox;
    // The drawing spans about (80–630, 170–880) of the 700 × 970 crop; the text lines end at 110, the caption starts at 930.
    assert.ok(x1 < 150 && y1 > 110 && y1 < 250 && x2 > 560 && y2 > 800 && y2 < 930, `${figs[0].bbox}`);
    assert.equal(figs[0].text, '![](images/1_0.jpg)');
    const md = out.markdown;
    assert.ok(md.indexOf('fiber locking collar') < md.indexOf('![](images/1_0.jpg)') && md.indexOf('![](images/1_0.jpg)') < md.indexOf('Figure 7-27'), md);
    for (const label of ['Nut case', 'Keyway']) assert.ok(md.includes(label), md);
  });
});
