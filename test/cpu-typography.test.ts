// Print's own punctuation from what the recogniser reads. Hyphen, en dash or em dash by the printed
// bar's length (services/ocr/engines/cpu/dashes.ts): the recogniser has no en dash and reads every
// short bar as "-", so the engine measures the bar against the line's cap height. Lines here are
// drawn: figures and capitals as cap-high outlines, small letters as x-high ones, dashes as thin
// bars at half the x-height. And curly quotes where the recogniser reads straight ones
// (recognize-page.ts curlyQuotes).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lineRuler, typesetDashes } from '../services/ocr/engines/cpu/dashes.ts';
import { curlyQuotes } from '../services/ocr/engines/cpu/recognize-page.ts';
import type { LineCrop } from '../services/ocr/engines/cpu/line-crops.ts';

const HEIGHT = 48;
const BASE = 34; // last row of ink on the baseline
const CAP = 24; // cap height in rows
const XH = 16; // x-height in rows

type Glyph = { kind: 'cap' | 'small' } | { kind: 'bar'; length: number } | { kind: 'space' };

/** A drawn line: each glyph's centre column (where a recogniser would read it) and the crop. */
function drawLine(glyphs: Glyph[], extra?: (set: (x: number, y: number) => void) => void): { crop: LineCrop; centres: number[] } {
  const widths = glyphs.map((g) => (g.kind === 'bar' ? g.length : g.kind === 'space' ? 8 : 12));
  const width = widths.reduce((a, b) => a + b + 3, 10);
  const data = new Uint8Array(width * HEIGHT * 3).fill(250);
  const set = (x: number, y: number) => data.fill(20, (y * width + x) * 3, (y * width + x) * 3 + 3);
  const box = (x0: number, x1: number, y0: number, y1: number, stroke: number) => {
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (x < x0 + stroke || x > x1 - stroke || y < y0 + stroke || y > y1 - stroke) set(x, y);
  };
  const centres: number[] = [];
  let x = 5;
  glyphs.forEach((g, i) => {
    const w = widths[i];
    if (g.kind === 'cap') box(x, x + w - 1, BASE - CAP + 1, BASE, 3);
    if (g.kind === 'small') box(x, x + w - 1, BASE - XH + 1, BASE, 3);
    if (g.kind === 'bar') for (let y = BASE - 9; y <= BASE - 7; y++) for (let c = x; c < x + w; c++) set(c, y);
    centres.push(x + w / 2);
    x += w + 3;
  });
  extra?.(set);
  return { crop: { data, width, height: HEIGHT }, centres };
}

const cap: Glyph = { kind: 'cap' };
const small: Glyph = { kind: 'small' };
const bar = (ofCap: number): Glyph => ({ kind: 'bar', length: Math.round(ofCap * CAP) });

/** The recogniser's reading of a drawn line, one character per glyph, at the glyphs' centres. */
function read(text: string, glyphs: Glyph[], extra?: Parameters<typeof drawLine>[1]) {
  const { crop, centres } = drawLine(glyphs, extra);
  return typesetDashes(text, centres, crop);
}

describe('dashes by their printed length', () => {
  test('the ruler is the cap height, whether the line is all figures or mostly small letters', () => {
    assert.equal(lineRuler(drawLine([cap, cap, cap, cap, cap]).crop, '12345')?.capHeight, CAP);
    assert.equal(lineRuler(drawLine([cap, small, small, small, small, small, cap, small]).crop, 'Tracemen')?.capHeight, CAP);
    // No tall character read: the x-height, scaled.
    assert.equal(lineRuler(drawLine([small, small, small, small]).crop, 'mean')?.capHeight, Math.round(1.45 * XH));
  });

  test('a short bar is a hyphen, in words and between figures (a telephone number)', () => {
    assert.equal(read('ac-ce', [small, small, bar(0.4), small, small]), 'ac-ce');
    assert.equal(read('77-48', [cap, cap, bar(0.4), cap, cap]), '77-48');
  });

  test('a bar of about half an em is an en dash, wherever it stands (FAA–2020–0686, 2019–NM)', () => {
    assert.equal(read('FA-20', [cap, cap, bar(0.85), cap, cap]), 'FA–20');
    assert.equal(read('ac-ce', [small, small, bar(0.85), small, small]), 'ac–ce');
  });

  test('a bar of about an em is an em dash, also where it was read as two hyphens', () => {
    assert.equal(read('Ac-ce', [cap, small, bar(1.5), small, small]), 'Ac—ce');
    const { crop, centres } = drawLine([cap, small, bar(1.5), small, small]);
    // Two hyphens read over the one bar, a quarter of it from each end.
    const [from, len] = [centres[2] - (1.5 * CAP) / 2, 1.5 * CAP];
    assert.equal(typesetDashes('Ac--ce', [centres[0], centres[1], from + len / 4, from + (3 * len) / 4, centres[3], centres[4]], crop), 'Ac—ce');
  });

  test('an en dash at a line end read as "--" is one en dash', () => {
    const { crop, centres } = drawLine([cap, cap, bar(0.85)]);
    assert.equal(typesetDashes('M2--', [centres[0], centres[1], centres[2] - 4, centres[2] + 4], crop), 'M2–');
  });

  test('two short bars read as two hyphens stay two', () => {
    assert.equal(read('a--c', [small, bar(0.4), bar(0.4), small]), 'a--c');
  });

  test('a bar between a hyphen and an en dash is an en dash only in a number range or before a number', () => {
    assert.equal(read('51-56', [cap, cap, bar(0.65), cap, cap]), '51–56');
    assert.equal(read('(-4)', [cap, bar(0.65), cap, cap]), '(–4)');
    assert.equal(read('ac-ce', [small, small, bar(0.65), small, small]), 'ac-ce');
    assert.equal(read('1.8-percent'.slice(0, 5), [cap, small, cap, bar(0.65), small]), '1.8-p');
  });

  test('a neighbouring line caught at the crop edge does not change the measure', () => {
    // Descenders of the line above over the bar's columns, past a blank row.
    const above = (set: (x: number, y: number) => void) => {
      for (let x = 0; x < 120; x++) for (let y = 0; y < 4; y++) if (x % 9 < 3) set(x, y);
    };
    assert.equal(read('FA-20', [cap, cap, bar(0.85), cap, cap], above), 'FA–20');
    assert.equal(read('ac-ce', [cap, small, bar(0.4), small, small], above), 'ac-ce');
  });

  test('where no bar is found near the reading, or the crop holds no line of type, the reading stays', () => {
    // The "-" read over a letter: no thin bar there.
    assert.equal(read('ac-ce', [small, small, small, small, small]), 'ac-ce');
    const blank: LineCrop = { data: new Uint8Array(60 * HEIGHT * 3).fill(250), width: 60, height: HEIGHT };
    assert.equal(typesetDashes('a-c', [10, 30, 50], blank), 'a-c');
    // A space the decoder put in has no column; the dash after it is still measured.
    const { crop, centres } = drawLine([small, { kind: 'space' }, bar(0.85), small]);
    assert.equal(typesetDashes('a –c'.replace('–', '-'), [centres[0], NaN, centres[2], centres[3]], crop), 'a –c');
  });
});

describe('curly quotes where print sets them', () => {
  test('an apostrophe in or closing a word is the right single quote', () => {
    assert.equal(curlyQuotes("the government's latest, Publ'ns, Eng'g"), 'the government’s latest, Publ’ns, Eng’g');
    assert.equal(curlyQuotes("the FAA's review of students' attitudes"), 'the FAA’s review of students’ attitudes');
  });

  test('a capitals-only listing keeps its typed apostrophe', () => {
    assert.equal(curlyQuotes("SENATOR'S TRANSPORTATION"), "SENATOR'S TRANSPORTATION");
  });

  test('double quotes open before a word and close after one or after punctuation', () => {
    assert.equal(curlyQuotes('a "nexus" between, is possible," and "demonstrating'), 'a “nexus” between, is possible,” and “demonstrating');
    assert.equal(curlyQuotes('(see "A") and said "no."'), '(see “A”) and said “no.”');
    assert.equal(curlyQuotes('a “nexus" between'), 'a “nexus” between');
  });

  test('a single quote inside a double one', () => {
    assert.equal(curlyQuotes(`behavior'" cannot “'reasonably be`), 'behavior’” cannot “‘reasonably be');
  });

  test('feet and inches after a figure stay straight, and so does a leading apostrophe', () => {
    assert.equal(curlyQuotes(`a 5' 3" man, 12" ruler`), `a 5' 3" man, 12" ruler`);
    assert.equal(curlyQuotes("'tis"), "'tis");
  });
});
