// Rewrites PaddleOCR's exported PP-LCNetV3 graphs into fewer, cheaper operators before
// onnxruntime loads them. paddle2onnx spells every block as
//   Conv → Mul(s1) → Add(b1) → [Add 3 → Clip 0..6 → Mul x → Div 6] (hard-swish) → Mul(s2) → Add(b2)
// with scalar "learnable affine" constants, and onnxruntime runs each of those eight element-wise
// operators as its own pass over the feature map: profiled, 30% of the recogniser's time. Folded
// exactly, the block becomes
//   Conv(W·s1·s2, (b·s1 + b1)·s2) → HardSigmoid(α = 1/(6·s2), β = ½) → Mul → Add(b2)
// (hard-swish of x scaled by s2 is y · HardSigmoid(y / (6·s2) + ½) with y = s2·x). Scaling a
// convolution's weights is exact, zero padding included, so the outputs match the original
// graph to float rounding (test/cpu-onnx-fuse.test.ts).
//
// The ONNX file is protobuf; only the few fields touched here are decoded, everything else is
// copied through byte for byte.

export interface Field {
  field: number;
  wire: number;
  /** Varint value (wire 0). */
  int?: bigint;
  /** Payload bytes (wire 1, 2, 5). */
  bytes?: Uint8Array;
  /** The whole encoded field, key included, for copying through. */
  raw: Uint8Array;
}

export function readFields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let p = 0;
  const varint = () => {
    let r = 0n;
    let s = 0n;
    for (;;) {
      const b = buf[p++];
      r |= BigInt(b & 0x7f) << s;
      if (!(b & 0x80)) return r;
      s += 7n;
    }
  };
  while (p < buf.length) {
    const start = p;
    const key = Number(varint());
    const f: Field = { field: key >>> 3, wire: key & 7, raw: buf };
    if (f.wire === 0) f.int = varint();
    else if (f.wire === 1 || f.wire === 5) {
      const n = f.wire === 1 ? 8 : 4;
      f.bytes = buf.subarray(p, p + n);
      p += n;
    } else if (f.wire === 2) {
      const n = Number(varint());
      f.bytes = buf.subarray(p, p + n);
      p += n;
    } else throw new Error(`unsupported protobuf wire type ${f.wire}`);
    f.raw = buf.subarray(start, p);
    out.push(f);
  }
  return out;
}

export function varintBytes(n: bigint | number): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
export const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
export const lenField = (field: number, payload: Uint8Array) =>
  concat([Uint8Array.from([...varintBytes((field << 3) | 2), ...varintBytes(payload.length)]), payload]);
export const intField = (field: number, v: number) => Uint8Array.from([...varintBytes(field << 3), ...varintBytes(v)]);
const floatField = (field: number, v: number) => {
  const b = new Uint8Array(5);
  b[0] = (field << 3) | 5;
  new DataView(b.buffer).setFloat32(1, v, true);
  return b;
};
export const strField = (field: number, s: string) => lenField(field, enc.encode(s));

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  fields: Field[];
}

export interface Tensor {
  dims: number[];
  data: Float32Array;
}

const ATTR_FLOAT = 1;
const ATTR_TENSOR = 4;

export function parseNode(bytes: Uint8Array): Node {
  const fields = readFields(bytes);
  const s = (f: Field) => dec.decode(f.bytes);
  return {
    op: s(fields.find((f) => f.field === 4)!),
    inputs: fields.filter((f) => f.field === 1).map(s),
    outputs: fields.filter((f) => f.field === 2).map(s),
    fields,
  };
}

/** Who writes and who reads each tensor of `nodes`: the index every graph rewrite walks. */
export function linkNodes(nodes: Node[]): { producer: Map<string, Node>; consumers: Map<string, Node[]> } {
  const producer = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  for (const n of nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  return { producer, consumers };
}

/** A NodeProto (named after its first output), in `domain` when not the default one. */
export function encodeNode(op: string, inputs: string[], outputs: string[], attrs: Uint8Array[] = [], domain?: string): Uint8Array {
  return concat([
    ...inputs.map((i) => strField(1, i)),
    ...outputs.map((o) => strField(2, o)),
    strField(3, outputs[0]),
    strField(4, op),
    ...attrs.map((a) => lenField(5, a)),
    ...(domain ? [strField(7, domain)] : []),
  ]);
}

/** An integer AttributeProto. */
export const intAttr = (name: string, v: number) => concat([strField(1, name), intField(3, v), intField(20, 2)]);

const floatAttr = (name: string, v: number) => concat([strField(1, name), floatField(2, v), intField(20, ATTR_FLOAT)]);

function tensorBytes(t: Tensor): Uint8Array {
  const raw = new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
  return concat([...t.dims.map((d) => intField(1, d)), intField(2, 1), lenField(9, raw)]);
}

const constantNode = (name: string, t: Tensor) =>
  encodeNode('Constant', [], [name], [concat([strField(1, 'value'), lenField(5, tensorBytes(t)), intField(20, ATTR_TENSOR)])]);

/** A float32 Constant node's tensor; undefined for anything else. */
export function constantOf(node: Node): Tensor | undefined {
  if (node.op !== 'Constant') return undefined;
  for (const a of node.fields.filter((f) => f.field === 5)) {
    const af = readFields(a.bytes!);
    const t = af.find((f) => f.field === 5);
    if (!t) continue;
    const tf = readFields(t.bytes!);
    const dims: number[] = [];
    for (const f of tf.filter((f) => f.field === 1)) {
      if (f.wire === 0) dims.push(Number(f.int));
      else {
        // packed
        const packed = readFields(Uint8Array.from([...varintBytes(8), ...f.bytes!]));
        dims.push(Number(packed[0].int));
      }
    }
    const type = Number(tf.find((f) => f.field === 2)?.int ?? 0);
    if (type !== 1) return undefined;
    const raw = tf.find((f) => f.field === 9);
    const floats = tf.find((f) => f.field === 4);
    // A copy: the bytes may be a view into a larger (pooled) buffer at any offset.
    const bytes = raw?.bytes ?? floats?.bytes;
    if (!bytes || (floats && floats.wire === 0)) return undefined;
    const data = new Float32Array(Uint8Array.from(bytes).buffer);
    return { dims, data };
  }
  return undefined;
}

/** Clip's bounds: attributes (opset < 11) or constant inputs (opset ≥ 11). */
function clipBounds(node: Node, constant: (name: string) => Tensor | undefined): [number, number] | undefined {
  if (node.inputs.length >= 3) {
    const lo = constant(node.inputs[1]);
    const hi = constant(node.inputs[2]);
    return lo?.data.length === 1 && hi?.data.length === 1 ? [lo.data[0], hi.data[0]] : undefined;
  }
  let lo = -Infinity;
  let hi = Infinity;
  for (const a of node.fields.filter((f) => f.field === 5)) {
    const af = readFields(a.bytes!);
    const name = dec.decode(af.find((f) => f.field === 1)!.bytes);
    const v = af.find((f) => f.field === 2);
    if (!v) continue;
    const x = new DataView(v.bytes!.buffer, v.bytes!.byteOffset, 4).getFloat32(0, true);
    if (name === 'min') lo = x;
    if (name === 'max') hi = x;
  }
  return [lo, hi];
}

export interface FuseReport {
  /** Blocks rewritten to Conv → HardSigmoid → Mul. */
  hardSwish: number;
  /** Conv → Mul → Add affines folded into the convolution without a hard-swish after them. */
  affineOnly: number;
  nodesBefore: number;
  nodesAfter: number;
}

/** The model with every affine + hard-swish block folded as described above; unmatched parts untouched. */
export function fuseAffineHardSwish(model: Uint8Array): { model: Uint8Array; report: FuseReport } {
  const top = readFields(model);
  const graphField = top.find((f) => f.field === 7);
  if (!graphField) throw new Error('not an ONNX model: no graph');
  const graphFields = readFields(graphField.bytes!);
  const nodes = graphFields.filter((f) => f.field === 1).map((f) => parseNode(f.bytes!));
  const { producer, consumers } = linkNodes(nodes);
  // Graph outputs are consumed from outside: never fold them away.
  const graphOutputs = new Set(graphFields.filter((f) => f.field === 12).map((f) => dec.decode(readFields(f.bytes!).find((x) => x.field === 1)!.bytes)));
  const constant = (name: string) => {
    const p = producer.get(name);
    return p ? constantOf(p) : undefined;
  };
  const only = (name: string): Node | undefined => {
    const c = consumers.get(name) ?? [];
    return c.length === 1 && !graphOutputs.has(name) ? c[0] : undefined;
  };
  /** `node` is op(x, constant scalar) in either order: the scalar and the other input. */
  const scalarOp = (node: Node | undefined, op: string, x: string): number | undefined => {
    if (!node || node.op !== op || node.inputs.length !== 2) return undefined;
    const other = node.inputs[0] === x ? node.inputs[1] : node.inputs[1] === x && op !== 'Div' ? node.inputs[0] : undefined;
    if (other === undefined) return undefined;
    const t = constant(other);
    return t && t.data.length === 1 ? t.data[0] : undefined;
  };

  const removed = new Set<Node>();
  const replaced = new Map<Node, Uint8Array[]>();
  const report: FuseReport = { hardSwish: 0, affineOnly: 0, nodesBefore: nodes.length, nodesAfter: 0 };
  let fresh = 0;
  for (const conv of nodes) {
    if (conv.op !== 'Conv' || conv.outputs.length !== 1) continue;
    const W = constant(conv.inputs[1]);
    const B = conv.inputs[2] ? constant(conv.inputs[2]) : undefined;
    if (!W || (conv.inputs[2] && !B)) continue;
    const m1 = only(conv.outputs[0]);
    const s1 = scalarOp(m1, 'Mul', conv.outputs[0]);
    if (s1 === undefined || !m1) continue;
    const a1 = only(m1.outputs[0]);
    const b1 = scalarOp(a1, 'Add', m1.outputs[0]);
    if (b1 === undefined || !a1) continue;
    const x = a1.outputs[0];
    // Hard-swish: Add(x, 3) → Clip(0, 6) → Mul(x, ·) → Div(·, 6), then Mul(s2) → Add(b2).
    const users = consumers.get(x) ?? [];
    const add3 = users.find((u) => u.op === 'Add');
    const mulX = users.find((u) => u.op === 'Mul');
    const clip = add3 && only(add3.outputs[0]);
    const bounds = clip?.op === 'Clip' ? clipBounds(clip, constant) : undefined;
    const div = mulX && only(mulX.outputs[0]);
    const m2 = div && only(div.outputs[0]);
    const s2 = m2 && div ? scalarOp(m2, 'Mul', div.outputs[0]) : undefined;
    const isHardSwish =
      users.length === 2 &&
      !graphOutputs.has(x) &&
      scalarOp(add3, 'Add', x) === 3 &&
      bounds?.[0] === 0 &&
      bounds[1] === 6 &&
      clip !== undefined &&
      mulX !== undefined &&
      mulX.inputs.includes(clip.outputs[0]) &&
      scalarOp(div, 'Div', mulX.outputs[0]) === 6 &&
      s2 !== undefined &&
      s2 !== 0 &&
      !graphOutputs.has(m2!.outputs[0]);
    const scale = isHardSwish ? s1 * s2! : s1;
    const outC = W.dims[0];
    const w = W.data.map((v) => v * scale);
    const b = new Float32Array(outC);
    for (let o = 0; o < outC; o++) b[o] = ((B ? B.data[o] : 0) * s1 + b1) * (isHardSwish ? s2! : 1);
    const wName = `${conv.inputs[1]}.fused${fresh}`;
    const bName = `${conv.outputs[0]}.fused_bias${fresh++}`;
    // The Conv keeps its attributes (strides, pads, group); only its inputs change.
    const convBytes = concat([...[conv.inputs[0], wName, bName].map((i) => strField(1, i)), ...conv.fields.filter((f) => f.field !== 1).map((f) => f.raw)]);
    const out: Uint8Array[] = [constantNode(wName, { dims: W.dims, data: w }), constantNode(bName, { dims: [outC], data: b }), convBytes];
    removed.add(m1);
    if (!isHardSwish) {
      // The folded Conv writes the Add's output name, so its users need no change.
      replaced.set(conv, [
        out[0],
        out[1],
        concat([
          ...[conv.inputs[0], wName, bName].map((i) => strField(1, i)),
          strField(2, a1.outputs[0]),
          ...conv.fields.filter((f) => f.field !== 1 && f.field !== 2).map((f) => f.raw),
        ]),
      ]);
      removed.add(a1);
      report.affineOnly++;
      continue;
    }
    const y = conv.outputs[0];
    const hs = `${y}.hsig`;
    out.push(encodeNode('HardSigmoid', [y], [hs], [floatAttr('alpha', 1 / (6 * s2!)), floatAttr('beta', 0.5)]));
    out.push(encodeNode('Mul', [y, hs], [m2!.outputs[0]]));
    replaced.set(conv, out);
    for (const n of [a1, add3!, clip!, mulX!, div!, m2!]) removed.add(n);
    report.hardSwish++;
  }
  const nodeBytes: Uint8Array[] = [];
  let k = 0;
  for (const f of graphFields) {
    if (f.field !== 1) continue;
    const n = nodes[k++];
    if (removed.has(n)) continue;
    const r = replaced.get(n);
    if (r) nodeBytes.push(...r.map((b) => lenField(1, b)));
    else nodeBytes.push(f.raw);
  }
  // Constants no longer used by anyone (the unfused weights, 3 and 6) are dropped.
  const used = new Set<string>();
  const kept = nodeBytes.map((b) => parseNode(readFields(b)[0].bytes!));
  for (const n of kept) for (const i of n.inputs) used.add(i);
  for (const o of graphOutputs) used.add(o);
  const finalNodes = nodeBytes.filter((_, k) => kept[k].op !== 'Constant' || kept[k].outputs.some((o) => used.has(o)));
  report.nodesAfter = finalNodes.length;
  // Nodes first (their order is the topological order), then the graph's other fields.
  const graph = concat([...finalNodes, ...graphFields.filter((f) => f.field !== 1).map((f) => f.raw)]);
  const rebuilt = concat(top.map((f) => (f.field === 7 ? lenField(7, graph) : f.raw)));
  return { model: rebuilt, report };
}

export interface SwishReport {
  /** Blocks now Conv → HardSwish, their scale moved into the convolutions that read them. */
  blocks: number;
  /** Of those, blocks whose scalar add went into the next (1×1) convolution's bias. */
  biasFolded: number;
  /**
   * Tensors that now hold (old − shift) × scale: calibrated 8-bit ranges taken from the graph
   * before this pass map through it (rescaleRanges).
   */
  rescaled: Record<string, { scale: number; shift: number }>;
}

/**
 * The second pass, on fuseAffineHardSwish's output: a block's
 *   Conv(W, b) → y;  s·hswish(y/s) + b2 = y · HardSigmoid(y / 6s + ½) + b2
 * becomes Conv(W/s, b/s) → HardSwish, one operator where there were three, and the block's
 * scale s moves into every convolution that reads it (their weights × s: exact, zero padding
 * included). Its add b2 goes into a reader's bias when every reader is a 1×1 convolution without
 * padding (exact; the depthwise blocks' adds are 0 anyway); before a padded convolution it stays
 * as an Add of b2/s (padding would otherwise see b2). Blocks read by anything other than
 * convolutions (the squeeze-excite pools, the neck) are left as they were. The result needs
 * opset 14 (HardSwish): pass it through onnx-opset.ts's toOpset14.
 */
export function hardSwishBlocks(model: Uint8Array): { model: Uint8Array; report: SwishReport } {
  const top = readFields(model);
  const graphFields = readFields(top.find((f) => f.field === 7)!.bytes!);
  const nodeFields = graphFields.filter((f) => f.field === 1);
  const nodes = nodeFields.map((f) => parseNode(f.bytes!));
  const { producer, consumers } = linkNodes(nodes);
  const graphOutputs = new Set(graphFields.filter((f) => f.field === 12).map((f) => dec.decode(readFields(f.bytes!).find((x) => x.field === 1)!.bytes)));
  const constant = (name: string) => {
    const p = producer.get(name);
    return p ? constantOf(p) : undefined;
  };
  const users = (name: string) => (graphOutputs.has(name) ? [] : (consumers.get(name) ?? []));
  const floatOf = (n: Node, name: string) => {
    for (const a of n.fields.filter((f) => f.field === 5)) {
      const af = readFields(a.bytes!);
      if (dec.decode(af.find((f) => f.field === 1)!.bytes) !== name) continue;
      const v = af.find((f) => f.field === 2);
      return v ? new DataView(v.bytes!.buffer, v.bytes!.byteOffset, 4).getFloat32(0, true) : undefined;
    }
    return undefined;
  };
  const isPointwise = (c: Node) => {
    const W = constant(c.inputs[1]);
    return (
      !!W &&
      W.dims[2] === 1 &&
      W.dims[3] === 1 &&
      (intsAttr(c, 'pads') ?? [0]).every((p) => p === 0) &&
      !c.fields.some((f) => f.field === 5 && dec.decode(readFields(f.bytes!).find((x) => x.field === 1)!.bytes) === 'auto_pad')
    );
  };

  const report: SwishReport = { blocks: 0, biasFolded: 0, rescaled: {} };
  const removed = new Set<Node>();
  const replaced = new Map<Node, Uint8Array[]>();
  /** New weights (and bias) per reading convolution: its inputs are rewritten at the end. */
  const readerScale = new Map<Node, { s: number; b2: number }>();
  let fresh = 0;
  for (const conv of nodes) {
    if (conv.op !== 'Conv' || conv.outputs.length !== 1) continue;
    const y = conv.outputs[0];
    const W = constant(conv.inputs[1]);
    const B = conv.inputs[2] ? constant(conv.inputs[2]) : undefined;
    if (!W || (conv.inputs[2] && !B)) continue;
    const yUsers = users(y);
    const hsig = yUsers.find((u) => u.op === 'HardSigmoid');
    const mul = yUsers.find((u) => u.op === 'Mul');
    if (yUsers.length !== 2 || !hsig || !mul || !mul.inputs.includes(hsig.outputs[0]) || users(hsig.outputs[0]).length !== 1) continue;
    const alpha = floatOf(hsig, 'alpha');
    const beta = floatOf(hsig, 'beta') ?? 0.5;
    if (alpha === undefined || !(alpha > 0) || beta !== 0.5) continue;
    const s = 1 / (6 * alpha);
    // The optional scalar add after the block.
    const mUsers = users(mul.outputs[0]);
    const add = mUsers.length === 1 && mUsers[0].op === 'Add' ? mUsers[0] : undefined;
    const b2Name = add?.inputs.find((i) => i !== mul.outputs[0]);
    const b2T = b2Name ? constant(b2Name) : undefined;
    const b2 = add && b2T?.data.length === 1 ? b2T.data[0] : add ? undefined : 0;
    if (b2 === undefined) continue;
    const z = add ? add.outputs[0] : mul.outputs[0];
    const readers = users(z);
    if (readers.length === 0 || !readers.every((r) => r.op === 'Conv' && r.inputs[0] === z && !readerScale.has(r) && constant(r.inputs[1]))) continue;
    const foldBias = b2 === 0 || readers.every(isPointwise);
    // This block: Conv(W/s, b/s) → HardSwish [→ Add(b2/s)].
    const wName = `${conv.inputs[1]}.hswish${fresh}`;
    const bName = `${y}.hswish_bias${fresh++}`;
    const outC = W.dims[0];
    const out: Uint8Array[] = [
      constantNode(wName, { dims: W.dims, data: W.data.map((v) => v / s) }),
      constantNode(bName, { dims: [outC], data: Float32Array.from({ length: outC }, (_, o) => (B ? B.data[o] : 0) / s) }),
      concat([...[conv.inputs[0], wName, bName].map((i) => strField(1, i)), ...conv.fields.filter((f) => f.field !== 1).map((f) => f.raw)]),
    ];
    if (foldBias) out.push(encodeNode('HardSwish', [y], [z]));
    else {
      const c = `${z}.b2`;
      out.push(
        encodeNode('HardSwish', [y], [`${y}.hswish`]),
        constantNode(c, { dims: [], data: Float32Array.of(b2 / s) }),
        encodeNode('Add', [`${y}.hswish`, c], [z]),
      );
    }
    replaced.set(conv, out);
    removed.add(hsig).add(mul);
    if (add) removed.add(add);
    for (const r of readers) readerScale.set(r, { s, b2: foldBias ? b2 : 0 });
    report.rescaled[y] = { scale: 1 / s, shift: 0 };
    report.rescaled[z] = { scale: 1 / s, shift: foldBias ? b2 : 0 };
    report.blocks++;
    if (foldBias && b2 !== 0) report.biasFolded++;
  }
  // Readers: weights × s, bias + b2 · Σ W (the folded add), keeping their own rewrite if they are blocks too.
  for (const [r, { s, b2 }] of readerScale) {
    const W = constant(r.inputs[1])!;
    const B = r.inputs[2] ? constant(r.inputs[2]) : undefined;
    const outC = W.dims[0];
    const per = W.data.length / outC;
    const block = replaced.get(r);
    // A reader that is itself a block already divided its weights by its own scale.
    const own = block ? 1 / report.rescaled[r.outputs[0]].scale : 1;
    const w = W.data.map((v) => (v * s) / own);
    const b = Float32Array.from({ length: outC }, (_, o) => {
      let sum = 0;
      for (let j = 0; j < per; j++) sum += W.data[o * per + j];
      return ((B ? B.data[o] : 0) + b2 * sum) / own;
    });
    const wName = `${r.inputs[1]}.scaled${fresh}`;
    const bName = `${r.outputs[0]}.scaled_bias${fresh++}`;
    const convBytes = concat([...[r.inputs[0], wName, bName].map((i) => strField(1, i)), ...r.fields.filter((f) => f.field !== 1).map((f) => f.raw)]);
    const head = [constantNode(wName, { dims: W.dims, data: w }), constantNode(bName, { dims: [outC], data: b })];
    replaced.set(r, block ? [...head, convBytes, ...block.slice(3)] : [...head, convBytes]);
  }
  const nodeBytes: Uint8Array[] = [];
  for (const [k, n] of nodes.entries()) {
    if (removed.has(n)) continue;
    const r = replaced.get(n);
    if (r) nodeBytes.push(...r.map((b) => lenField(1, b)));
    else nodeBytes.push(nodeFields[k].raw);
  }
  const used = new Set<string>(graphOutputs);
  const kept = nodeBytes.map((b) => parseNode(readFields(b)[0].bytes!));
  for (const n of kept) for (const i of n.inputs) used.add(i);
  const finalNodes = nodeBytes.filter((_, k) => kept[k].op !== 'Constant' || kept[k].outputs.some((o) => used.has(o)));
  const graph = concat([...finalNodes, ...graphFields.filter((f) => f.field !== 1).map((f) => f.raw)]);
  return { model: concat(top.map((f) => (f.field === 7 ? lenField(7, graph) : f.raw))), report };
}

/** Calibrated ranges of the graph before hardSwishBlocks, for the graph after it. */
export function rescaleRanges(ranges: Record<string, [number, number]>, rescaled: SwishReport['rescaled']): Record<string, [number, number]> {
  const out = { ...ranges };
  for (const [name, { scale, shift }] of Object.entries(rescaled)) {
    const r = ranges[name];
    if (!r) continue;
    const a = (r[0] - shift) * scale;
    const b = (r[1] - shift) * scale;
    out[name] = [Math.min(a, b), Math.max(a, b)];
  }
  return out;
}

/** A node's integer-list attribute (repeated, packed or not), or its single int. */
export function intsAttr(n: Node, name: string): number[] | undefined {
  for (const a of n.fields.filter((f) => f.field === 5)) {
    const af = readFields(a.bytes!);
    if (dec.decode(af.find((f) => f.field === 1)!.bytes) !== name) continue;
    const out: number[] = [];
    for (const f of af) {
      if (f.field === 3) out.push(Number(BigInt.asIntN(64, f.int!)));
      if (f.field !== 8) continue;
      if (f.wire === 0) out.push(Number(BigInt.asIntN(64, f.int!)));
      else {
        const b = f.bytes!;
        for (let p = 0; p < b.length;) {
          let r = 0n;
          let sh = 0n;
          for (;;) {
            const x = b[p++];
            r |= BigInt(x & 0x7f) << sh;
            sh += 7n;
            if (!(x & 0x80)) break;
          }
          out.push(Number(BigInt.asIntN(64, r)));
        }
      }
    }
    return out;
  }
  return undefined;
}
