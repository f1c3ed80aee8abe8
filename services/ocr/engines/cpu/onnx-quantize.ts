// 8-bit convolutions for the recogniser (static quantisation in ONNX's QDQ form, done at load
// time from committed activation ranges). onnxruntime turns each
//   QuantizeLinear → DequantizeLinear → Conv(DequantizeLinear(int8 W), int32 bias) → QuantizeLinear → DequantizeLinear
// into one QLinearConv on uint8 activations and per-channel int8 weights (VNNI/AVX2 integer dot
// products): profiled, the recogniser ran ~1.6× faster. Only full convolutions are quantised:
// int8 depthwise convolutions were slower than float ones here and lost more accuracy.
//
// Activation ranges come from bench/cpu-calibrate.ts (the 99.99th percentiles of each
// convolution's input and output over line crops of the calibration pages) and name the tensors
// of the graph after onnx-fuse.ts, which is deterministic.
import { concat, encodeNode, intAttr, intField, intsAttr, lenField, linkNodes, parseNode, readFields, strField, constantOf, type Node } from './onnx-fuse.ts';

const dec = new TextDecoder();
const MS = 'com.microsoft';
const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const INT32 = 6;
const INT64 = 7;

export type Ranges = Record<string, [number, number]>;

const tensorNode = (name: string, dims: number[], type: number, bytes: Uint8Array) => {
  const t = concat([...dims.map((d) => intField(1, d)), intField(2, type), lenField(9, bytes)]);
  return concat([strField(2, name), strField(3, name), strField(4, 'Constant'), lenField(5, concat([strField(1, 'value'), lenField(5, t), intField(20, 4)]))]);
};
const bytesOf = (a: Float32Array | Int8Array | Int32Array | BigInt64Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The model's default-domain opset version. */
function opsetOf(top: ReturnType<typeof readFields>): number {
  for (const f of top.filter((g) => g.field === 8)) {
    const of = readFields(f.bytes!);
    const domain = of.find((g) => g.field === 1);
    if (!domain || dec.decode(domain.bytes) === '') return Number(of.find((g) => g.field === 2)?.int ?? 0n);
  }
  return 0;
}

const isDepthwise = (n: Node) => (intsAttr(n, 'group')?.[0] ?? 1) > 1;

/** The full (not depthwise) convolutions' input and output tensor names: what calibration measures. */
export function convTensors(model: Uint8Array): string[] {
  const graph = readFields(readFields(model).find((f) => f.field === 7)!.bytes!);
  const convs = graph
    .filter((f) => f.field === 1)
    .map((f) => parseNode(f.bytes!))
    .filter((n) => n.op === 'Conv' && !isDepthwise(n));
  return [...new Set(convs.flatMap((c) => [c.inputs[0], c.outputs[0]]))];
}

/** The model with `names` added as graph outputs (float tensors), for calibration runs. */
export function withOutputs(model: Uint8Array, names: string[]): Uint8Array {
  const top = readFields(model);
  const graph = readFields(top.find((f) => f.field === 7)!.bytes!);
  const info = (name: string) => concat([strField(1, name), lenField(2, lenField(1, intField(1, FLOAT)))]);
  const rebuilt = concat([...graph.map((f) => f.raw), ...names.map((n) => lenField(12, info(n)))]);
  return concat(top.map((f) => (f.field === 7 ? lenField(7, rebuilt) : f.raw)));
}

/** uint8 asymmetric parameters covering [lo, hi] (and 0, which must be exact). */
function uint8Params([lo, hi]: [number, number]): { scale: number; zero: number } {
  const a = Math.min(0, lo);
  const b = Math.max(0, hi);
  const scale = (b - a) / 255 || 1e-8;
  return { scale, zero: Math.max(0, Math.min(255, Math.round(-a / scale))) };
}

export interface QuantizeReport {
  quantised: number;
  /** Full convolutions left in float: no calibrated range for their tensors. */
  uncalibrated: number;
}

/**
 * The model with every full convolution whose input and output have a range in `ranges` in QDQ
 * form. Opset 9 models (the recogniser) are raised to 10, which QLinearConv needs; the only
 * operator in them that changed between the two is Slice (attributes became inputs).
 */
export function quantizeConvs(model: Uint8Array, ranges: Ranges): { model: Uint8Array; report: QuantizeReport } {
  const top = readFields(model);
  const graph = readFields(top.find((f) => f.field === 7)!.bytes!);
  const nodeFields = graph.filter((f) => f.field === 1);
  const nodes = nodeFields.map((f) => parseNode(f.bytes!));
  const { producer } = linkNodes(nodes);
  const raise = opsetOf(top) < 10;
  const out: Uint8Array[] = [];
  const report: QuantizeReport = { quantised: 0, uncalibrated: 0 };
  let k = 0;
  for (const [i, n] of nodes.entries()) {
    if (raise && n.op === 'Slice' && n.inputs.length === 1) {
      const name = `${n.outputs[0]}.slice`;
      const i64 = (v: number[]) => bytesOf(BigInt64Array.from(v.map((x) => BigInt(Math.max(-(2 ** 53), Math.min(2 ** 53, x))))));
      const starts = intsAttr(n, 'starts') ?? [];
      const ends = intsAttr(n, 'ends') ?? [];
      const axes = intsAttr(n, 'axes');
      out.push(tensorNode(`${name}.starts`, [starts.length], INT64, i64(starts)), tensorNode(`${name}.ends`, [ends.length], INT64, i64(ends)));
      if (axes) out.push(tensorNode(`${name}.axes`, [axes.length], INT64, i64(axes)));
      out.push(encodeNode('Slice', [n.inputs[0], `${name}.starts`, `${name}.ends`, ...(axes ? [`${name}.axes`] : [])], n.outputs));
      continue;
    }
    if (n.op !== 'Conv' || isDepthwise(n)) {
      out.push(nodeFields[i].bytes!);
      continue;
    }
    const [x, wName, bName] = n.inputs;
    const y = n.outputs[0];
    const W = producer.get(wName) && constantOf(producer.get(wName)!);
    const B = bName ? producer.get(bName) && constantOf(producer.get(bName)!) : undefined;
    if (!ranges[x] || !ranges[y] || !W || (bName && !B)) {
      if (!ranges[x] || !ranges[y]) report.uncalibrated++;
      out.push(nodeFields[i].bytes!);
      continue;
    }
    const p = `q${k++}`;
    const O = W.dims[0];
    const per = W.data.length / O;
    // Full 8-bit weights. onnxruntime advises 7 bits (±63) for x86 without VNNI, whose u8 × s8
    // kernels add pairs of products in 16 bits (VPMADDUBSW) and can saturate; measured here (with
    // VNNI), 7 bits cost 0.05–0.35 points of CER and took chinese_scan past 2%. On an AVX2-only
    // machine that reads worse, loadPaddle's `int8: false` is the float recogniser.
    const wScale = new Float32Array(O);
    const wq = new Int8Array(W.data.length);
    for (let o = 0; o < O; o++) {
      let m = 0;
      for (let j = 0; j < per; j++) m = Math.max(m, Math.abs(W.data[o * per + j]));
      wScale[o] = m / 127 || 1e-8;
      for (let j = 0; j < per; j++) wq[o * per + j] = Math.round(W.data[o * per + j] / wScale[o]);
    }
    const xq = uint8Params(ranges[x]);
    const yq = uint8Params(ranges[y]);
    const bScale = wScale.map((s) => s * xq.scale);
    const bq = Int32Array.from({ length: O }, (_, o) => Math.round((B ? B.data[o] : 0) / bScale[o]));
    out.push(
      tensorNode(`${p}.xs`, [], FLOAT, bytesOf(Float32Array.of(xq.scale))),
      tensorNode(`${p}.xz`, [], UINT8, Uint8Array.of(xq.zero)),
      tensorNode(`${p}.ys`, [], FLOAT, bytesOf(Float32Array.of(yq.scale))),
      tensorNode(`${p}.yz`, [], UINT8, Uint8Array.of(yq.zero)),
      tensorNode(`${p}.wq`, W.dims, INT8, bytesOf(wq)),
      tensorNode(`${p}.ws`, [O], FLOAT, bytesOf(wScale)),
      tensorNode(`${p}.wz`, [O], INT8, new Uint8Array(O)),
      tensorNode(`${p}.bq`, [O], INT32, bytesOf(bq)),
      tensorNode(`${p}.bs`, [O], FLOAT, bytesOf(bScale)),
      tensorNode(`${p}.bz`, [O], INT32, new Uint8Array(4 * O)),
      // com.microsoft's Q/DQ take a per-channel axis at any opset; onnxruntime fuses them alike.
      encodeNode('QuantizeLinear', [x, `${p}.xs`, `${p}.xz`], [`${p}.xq`], [], MS),
      encodeNode('DequantizeLinear', [`${p}.xq`, `${p}.xs`, `${p}.xz`], [`${p}.xd`], [], MS),
      encodeNode('DequantizeLinear', [`${p}.wq`, `${p}.ws`, `${p}.wz`], [`${p}.wd`], [intAttr('axis', 0)], MS),
      encodeNode('DequantizeLinear', [`${p}.bq`, `${p}.bs`, `${p}.bz`], [`${p}.bd`], [intAttr('axis', 0)], MS),
      concat([
        strField(1, `${p}.xd`),
        strField(1, `${p}.wd`),
        strField(1, `${p}.bd`),
        strField(2, `${p}.yf`),
        ...n.fields.filter((f) => f.field !== 1 && f.field !== 2).map((f) => f.raw),
      ]),
      encodeNode('QuantizeLinear', [`${p}.yf`, `${p}.ys`, `${p}.yz`], [`${p}.yq`], [], MS),
      encodeNode('DequantizeLinear', [`${p}.yq`, `${p}.ys`, `${p}.yz`], [y], [], MS),
    );
    report.quantised++;
  }
  // The float weights of quantised convolutions are no longer used: dropped.
  const used = new Set<string>();
  const parsed = out.map((b) => parseNode(b));
  for (const n of parsed) for (const i of n.inputs) used.add(i);
  const graphOutputs = graph.filter((f) => f.field === 12).map((f) => dec.decode(readFields(f.bytes!).find((g) => g.field === 1)!.bytes));
  for (const o of graphOutputs) used.add(o);
  const kept = out.filter((_, j) => parsed[j].op !== 'Constant' || parsed[j].outputs.some((o) => used.has(o)));
  const rebuilt = concat([...kept.map((b) => lenField(1, b)), ...graph.filter((f) => f.field !== 1).map((f) => f.raw)]);
  const opset = (domain: string, version: number) => lenField(8, concat([strField(1, domain), intField(2, version)]));
  const parts = top.filter((f) => !(f.field === 8 && raise && opsetDomain(f) === '')).map((f) => (f.field === 7 ? lenField(7, rebuilt) : f.raw));
  if (raise) parts.push(opset('', 10));
  if (!top.some((f) => f.field === 8 && opsetDomain(f) === MS)) parts.push(opset(MS, 1));
  return { model: concat(parts), report };
}

function opsetDomain(f: ReturnType<typeof readFields>[number]): string {
  const d = readFields(f.bytes!).find((g) => g.field === 1);
  return d ? dec.decode(d.bytes) : '';
}

/**
 * The recogniser's class head — MatMul(x, W [120 × 6625]) → Add(bias), run once per time step
 * and 5–7% of a line's time in float — as com.microsoft's DynamicQuantizeMatMul: int8 weights with
 * one scale per class, the activations quantised per run, the bias added in the same kernel.
 * Only MatMuls with a constant weight of at least `minColumns` columns are touched.
 */
export function quantizeHead(model: Uint8Array, minColumns = 1000): { model: Uint8Array; quantised: number } {
  const top = readFields(model);
  const graph = readFields(top.find((f) => f.field === 7)!.bytes!);
  const nodeFields = graph.filter((f) => f.field === 1);
  const nodes = nodeFields.map((f) => parseNode(f.bytes!));
  const { producer, consumers } = linkNodes(nodes);
  const skip = new Set<Node>();
  const out: Uint8Array[] = [];
  let quantised = 0;
  for (const [i, n] of nodes.entries()) {
    if (skip.has(n)) continue;
    const W = n.op === 'MatMul' && producer.get(n.inputs[1]) ? constantOf(producer.get(n.inputs[1])!) : undefined;
    if (!W || W.dims.length !== 2 || W.dims[1] < minColumns) {
      out.push(nodeFields[i].bytes!);
      continue;
    }
    const [K, N] = W.dims;
    // The Add of a constant [N] bias right after it goes into the kernel.
    const after = consumers.get(n.outputs[0]) ?? [];
    const add = after.length === 1 && after[0].op === 'Add' ? after[0] : undefined;
    const biasName = add?.inputs.find((x) => x !== n.outputs[0]);
    const bias = biasName && producer.get(biasName) ? constantOf(producer.get(biasName)!) : undefined;
    const fuseBias = !!add && bias?.data.length === N;
    const scale = new Float32Array(N);
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) scale[j] = Math.max(scale[j], Math.abs(W.data[k * N + j]));
    for (let j = 0; j < N; j++) scale[j] = scale[j] / 127 || 1e-8;
    const wq = new Int8Array(K * N);
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) wq[k * N + j] = Math.round(W.data[k * N + j] / scale[j]);
    const p = `${n.outputs[0]}.dq`;
    out.push(
      tensorNode(`${p}.w`, [K, N], INT8, bytesOf(wq)),
      tensorNode(`${p}.s`, [N], FLOAT, bytesOf(scale)),
      tensorNode(`${p}.z`, [N], INT8, new Uint8Array(N)),
    );
    if (fuseBias) {
      out.push(encodeNode('DynamicQuantizeMatMul', [n.inputs[0], `${p}.w`, `${p}.s`, `${p}.z`, biasName!], add!.outputs, [], MS));
      skip.add(add!);
    } else out.push(encodeNode('DynamicQuantizeMatMul', [n.inputs[0], `${p}.w`, `${p}.s`, `${p}.z`], n.outputs, [], MS));
    quantised++;
  }
  const used = new Set<string>();
  const parsed = out.map((b) => parseNode(b));
  for (const x of parsed) for (const inp of x.inputs) used.add(inp);
  for (const f of graph.filter((g) => g.field === 12)) used.add(dec.decode(readFields(f.bytes!).find((g) => g.field === 1)!.bytes));
  const kept = out.filter((_, j) => parsed[j].op !== 'Constant' || parsed[j].outputs.some((o) => used.has(o)));
  const rebuilt = concat([...kept.map((b) => lenField(1, b)), ...graph.filter((f) => f.field !== 1).map((f) => f.raw)]);
  const parts = top.map((f) => (f.field === 7 ? lenField(7, rebuilt) : f.raw));
  if (!top.some((f) => f.field === 8 && opsetDomain(f) === MS)) parts.push(lenField(8, concat([strField(1, MS), intField(2, 1)])));
  return { model: concat(parts), quantised };
}
