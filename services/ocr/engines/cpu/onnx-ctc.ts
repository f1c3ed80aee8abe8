// The recogniser's output reduced inside the graph to what CTC decoding reads: per time step the
// best class, its probability and the space class's probability. The model's own output is the
// whole softmax, [lines, steps, 6625] floats — 1.8 MB for a 560-pixel line, allocated, copied
// into JavaScript and scanned per line; these three are 1/2000 of it. Same values (ArgMax takes
// the first of equal maxima, as the JavaScript scan did).
import { concat, encodeNode, intAttr, intField, lenField, readFields, strField } from './onnx-fuse.ts';

const dec = new TextDecoder();
const FLOAT = 1;
const INT64 = 7;

export const CTC_OUTPUTS = {
  best: 'ctc.best',
  bestP: 'ctc.bestP',
  spaceP: 'ctc.spaceP',
  subsetBest: 'ctc.subsetBest',
  subsetBestP: 'ctc.subsetBestP',
} as const;

const intsAttr = (name: string, v: number[]) => concat([strField(1, name), ...v.map((x) => intField(8, x)), intField(20, 7)]);
const valueInfo = (name: string, type: number) => concat([strField(1, name), lenField(2, lenField(1, intField(1, type)))]);

/**
 * The model with its one [lines, steps, classes] softmax output replaced by the three per-step
 * outputs. With `subset` (class indices, e.g. one script's: script.ts), two more: per step the best
 * class among those only (as its position in `subset`) and its probability, so a line can be
 * decoded restricted to that script from the same run. Gathering ~330 of 6,625 classes first
 * keeps that second reduction small.
 */
export function ctcOutputs(model: Uint8Array, classes: number, subset?: number[]): Uint8Array {
  const top = readFields(model);
  const graph = readFields(top.find((f) => f.field === 7)!.bytes!);
  const outputs = graph.filter((f) => f.field === 12);
  if (outputs.length !== 1) throw new Error(`ctcOutputs: expected one graph output, found ${outputs.length}`);
  const probs = dec.decode(readFields(outputs[0].bytes!).find((f) => f.field === 1)!.bytes);
  const index = concat([
    strField(2, 'ctc.spaceIndex'),
    strField(3, 'ctc.spaceIndex'),
    strField(4, 'Constant'),
    lenField(
      5,
      concat([
        strField(1, 'value'),
        lenField(5, concat([intField(2, INT64), lenField(9, new Uint8Array(BigInt64Array.of(BigInt(classes - 1)).buffer))])),
        intField(20, 4),
      ]),
    ),
  ]);
  const added = [
    encodeNode('ArgMax', [probs], [CTC_OUTPUTS.best], [intAttr('axis', 2), intAttr('keepdims', 0)]),
    encodeNode('ReduceMax', [probs], [CTC_OUTPUTS.bestP], [intsAttr('axes', [2]), intAttr('keepdims', 0)]),
    index,
    encodeNode('Gather', [probs, 'ctc.spaceIndex'], [CTC_OUTPUTS.spaceP], [intAttr('axis', 2)]),
  ];
  const outs = [valueInfo(CTC_OUTPUTS.best, INT64), valueInfo(CTC_OUTPUTS.bestP, FLOAT), valueInfo(CTC_OUTPUTS.spaceP, FLOAT)];
  if (subset) {
    const indices = concat([intField(1, subset.length), intField(2, INT64), lenField(9, new Uint8Array(BigInt64Array.from(subset, BigInt).buffer))]);
    added.push(
      concat([
        strField(2, 'ctc.subset'),
        strField(3, 'ctc.subset'),
        strField(4, 'Constant'),
        lenField(5, concat([strField(1, 'value'), lenField(5, indices), intField(20, 4)])),
      ]),
      encodeNode('Gather', [probs, 'ctc.subset'], ['ctc.subsetProbs'], [intAttr('axis', 2)]),
      encodeNode('ArgMax', ['ctc.subsetProbs'], [CTC_OUTPUTS.subsetBest], [intAttr('axis', 2), intAttr('keepdims', 0)]),
      encodeNode('ReduceMax', ['ctc.subsetProbs'], [CTC_OUTPUTS.subsetBestP], [intsAttr('axes', [2]), intAttr('keepdims', 0)]),
    );
    outs.push(valueInfo(CTC_OUTPUTS.subsetBest, INT64), valueInfo(CTC_OUTPUTS.subsetBestP, FLOAT));
  }
  const rebuilt = concat([...graph.filter((f) => f.field !== 12).map((f) => f.raw), ...added.map((n) => lenField(1, n)), ...outs.map((o) => lenField(12, o))]);
  return concat(top.map((f) => (f.field === 7 ? lenField(7, rebuilt) : f.raw)));
}
