// Raises a PaddleOCR export (opset 9) to opset 14, which HardSwish needs (onnx-fuse.ts turns
// each block's HardSigmoid → Mul into one). Only the operators of these models whose spelling
// changed between 9 and 14 are rewritten: Slice (starts/ends/axes attributes became inputs at 10),
// Squeeze (axes became an input at 13). Softmax changed meaning at 13 (one axis instead of the
// flattened trailing ones), which is the same only on the last axis: anything else, like any
// other operator that changed (Clip, Unsqueeze, Split, Pad, Resize …), is refused rather than
// silently misread.
import { concat, intField, intsAttr, lenField, parseNode, readFields, strField, type Node } from './onnx-fuse.ts';

const dec = new TextDecoder();
const INT64 = 7;

/** Operators that these models use and that read the same at 9 and at 14. */
const SAME = new Set([
  'Add',
  'AveragePool',
  'BatchNormalization',
  'Cast',
  'Concat',
  'Constant',
  'Conv',
  'Div',
  'GlobalAveragePool',
  'HardSigmoid',
  'HardSwish',
  'MatMul',
  'Mul',
  'Pow',
  'ReduceMean',
  'Relu',
  'Reshape',
  'Shape',
  'Sigmoid',
  'Sqrt',
  'Sub',
  'Transpose',
  'QuantizeLinear',
  'DequantizeLinear',
]);

const int64Const = (name: string, v: number[]) => {
  const data = BigInt64Array.from(v.map((x) => BigInt(Math.max(-(2 ** 53), Math.min(2 ** 53, x)))));
  const t = concat([intField(1, v.length), intField(2, INT64), lenField(9, new Uint8Array(data.buffer))]);
  return concat([strField(2, name), strField(3, name), strField(4, 'Constant'), lenField(5, concat([strField(1, 'value'), lenField(5, t), intField(20, 4)]))]);
};
const plain = (op: string, inputs: string[], outputs: string[]) =>
  concat([...inputs.map((i) => strField(1, i)), ...outputs.map((o) => strField(2, o)), strField(3, outputs[0]), strField(4, op)]);

function domainOf(n: Node): string {
  const d = n.fields.find((f) => f.field === 7);
  return d ? dec.decode(d.bytes) : '';
}

/** The model at default-domain opset 14; throws on an operator it cannot vouch for. */
export function toOpset14(model: Uint8Array): Uint8Array {
  const top = readFields(model);
  const graph = readFields(top.find((f) => f.field === 7)!.bytes!);
  const out: Uint8Array[] = [];
  for (const f of graph) {
    if (f.field !== 1) continue;
    const n = parseNode(f.bytes!);
    if (domainOf(n) !== '') {
      out.push(f.bytes!);
      continue;
    }
    if (n.op === 'Slice' && n.inputs.length === 1) {
      const name = `${n.outputs[0]}.slice`;
      const axes = intsAttr(n, 'axes');
      out.push(int64Const(`${name}.starts`, intsAttr(n, 'starts') ?? []), int64Const(`${name}.ends`, intsAttr(n, 'ends') ?? []));
      if (axes) out.push(int64Const(`${name}.axes`, axes));
      out.push(plain('Slice', [n.inputs[0], `${name}.starts`, `${name}.ends`, ...(axes ? [`${name}.axes`] : [])], n.outputs));
    } else if (n.op === 'Squeeze' && n.inputs.length === 1) {
      const axes = intsAttr(n, 'axes');
      if (axes) out.push(int64Const(`${n.outputs[0]}.axes`, axes));
      out.push(plain('Squeeze', [n.inputs[0], ...(axes ? [`${n.outputs[0]}.axes`] : [])], n.outputs));
    } else if (n.op === 'Softmax') {
      // Last axis only (see above): these models' softmaxes are over the classes and the attention keys.
      const axis = intsAttr(n, 'axis')?.[0] ?? 1;
      if (axis !== -1 && axis < 2) throw new Error(`toOpset14: Softmax over axis ${axis} changes meaning at opset 13`);
      out.push(f.bytes!);
    } else if (SAME.has(n.op)) out.push(f.bytes!);
    else throw new Error(`toOpset14: ${n.op} is not known to read the same at opset 14`);
  }
  const rebuilt = concat([...out.map((b) => lenField(1, b)), ...graph.filter((f) => f.field !== 1).map((f) => f.raw)]);
  const parts = top.filter((f) => !(f.field === 8 && opsetDomain(f) === '')).map((f) => (f.field === 7 ? lenField(7, rebuilt) : f.raw));
  parts.push(lenField(8, concat([strField(1, ''), intField(2, 14)])));
  return concat(parts);
}

function opsetDomain(f: ReturnType<typeof readFields>[number]): string {
  const d = readFields(f.bytes!).find((g) => g.field === 1);
  return d ? dec.decode(d.bytes) : '';
}
