/**
 * vllm-sim (test/benchmark tool): fake answers in the shape of each OCR model Folio has a profile
 * for — dots.ocr's JSON cells, olmOCR-2's front matter + Markdown, Chandra's HTML divs,
 * Nanonets-OCR2's tagged Markdown, PaddleOCR-VL's per-task answers (text, OTSL, LaTeX), MinerU2.5's
 * layout tokens and block answers. Every answer says SIMULATED; none is a model transcription.
 * Which model a request is for is read from the request itself (its prompt, system message and
 * model name), as a real server would only ever get its own model's requests.
 */
import { PROFILE_NAMES } from '../../services/ocr/engines/vllm/profiles.ts';
import { SIM_MARKER, simulatedPlainText, simulatedText, taskOf, type ImageFacts } from './output.ts';

// The profiles Folio knows: the simulator answers for each of them.
export const SIM_PROFILES = PROFILE_NAMES;
export type SimProfile = (typeof SIM_PROFILES)[number];

export interface SimRequest {
  model: string;
  /** The text parts of the user message, joined. */
  prompt: string;
  system: string;
}

/** The profile a request speaks, from its prompt (and system message, and model name where prompts are shared). */
export function detectProfile(r: SimRequest): SimProfile | undefined {
  const p = r.prompt;
  if (
    /^\s*\n?(Layout Detection|Text Recognition|Table Recognition|Formula Recognition|Image Analysis):\s*$/.test(p) &&
    (r.system !== '' || /mineru/i.test(r.model))
  )
    return 'mineru-2.5';
  if (/^(OCR|Table Recognition|Formula Recognition|Chart Recognition|Spotting|Seal Recognition):$/.test(p.trim())) return 'paddleocr-vl';
  if (p.includes('<|img|><|imgpad|><|endofimg|>') || p.includes('Please output the layout information from the PDF image')) return 'dots-ocr';
  if (p.includes('Attached is one page of a document')) return 'olmocr-2';
  if (p.startsWith('OCR this image to HTML')) return 'chandra';
  if (p.includes('Page numbers should be wrapped in brackets')) return 'nanonets-ocr2';
  if (taskOf(p) !== 'other') return /ocr-2|ocr2/i.test(r.model) ? 'deepseek-ocr-2' : 'deepseek-ocr';
  return undefined;
}

/** Output tokens a request "generates", relative to a layout page's (MinerU's calls are parts of a page). */
export function tokenShare(profile: SimProfile, prompt: string): number {
  if (profile === 'mineru-2.5') return /Layout Detection/.test(prompt) ? 0.25 : 0.1;
  if (profile === 'paddleocr-vl' && !/^OCR:/.test(prompt.trim())) return 0.25;
  return 1;
}

export function simulatedAnswer(profile: SimProfile, prompt: string, img: ImageFacts, looping: boolean): string {
  switch (profile) {
    case 'deepseek-ocr':
    case 'deepseek-ocr-2': {
      const text = simulatedText(taskOf(prompt), img);
      return looping ? text.slice(0, Math.ceil(text.length / 2)) + '\n' + 'simulated repetition loop\n'.repeat(40) : text;
    }
    case 'dots-ocr':
      return dots(prompt, img, looping);
    case 'olmocr-2':
      return withLoop(olmocr(img), looping);
    case 'chandra':
      return chandra(prompt, img, looping);
    case 'nanonets-ocr2':
      return withLoop(nanonets(img), looping);
    case 'paddleocr-vl':
      return withLoop(paddle(prompt, img), looping);
    case 'mineru-2.5':
      return mineru(prompt, img, looping);
    default:
      return withLoop(simulatedPlainText(img), looping);
  }
}

function withLoop(text: string, looping: boolean): string {
  return looping ? text + 'simulated repetition loop\n'.repeat(40) : text;
}

const idOf = (img: ImageFacts) => img.sha256.slice(0, 16);
const notice = (model: string) => `${SIM_MARKER}: written by the Folio vLLM simulator in ${model}'s answer shape, not by ${model}.`;
const facts = (img: ImageFacts) => `Image ${img.width}x${img.height} px, ${img.bytes} bytes, sha256 ${idOf(img)}.`;

/** Qwen2-VL smart_resize (factor 28): dots.ocr's boxes are pixels of this size. */
function smartResize(h: number, w: number): { height: number; width: number } {
  const f = 28;
  let hb = Math.max(f, Math.round(h / f) * f);
  let wb = Math.max(f, Math.round(w / f) * f);
  if (hb * wb > 11_289_600) {
    const beta = Math.sqrt((h * w) / 11_289_600);
    hb = Math.floor(h / beta / f) * f;
    wb = Math.floor(w / beta / f) * f;
  } else if (hb * wb < 3136) {
    const beta = Math.sqrt(3136 / (h * w));
    hb = Math.ceil((h * beta) / f) * f;
    wb = Math.ceil((w * beta) / f) * f;
  }
  return { height: hb, width: wb };
}

function dots(prompt: string, img: ImageFacts, looping: boolean): string {
  if (prompt.includes('Extract the text content from this image')) return withLoop(`${notice('dots.ocr')}\n\n${facts(img)}\n`, looping);
  const s = smartResize(img.height, img.width);
  const px = (b: [number, number, number, number]) => [
    Math.round((b[0] / 1000) * s.width),
    Math.round((b[1] / 1000) * s.height),
    Math.round((b[2] / 1000) * s.width),
    Math.round((b[3] / 1000) * s.height),
  ];
  const cells = [
    { bbox: px([60, 20, 940, 40]), category: 'Page-header', text: 'Folio simulator · running header' },
    { bbox: px([60, 60, 940, 100]), category: 'Title', text: `# Simulated page ${idOf(img)}` },
    { bbox: px([60, 110, 940, 150]), category: 'Text', text: notice('dots.ocr') },
    { bbox: px([60, 160, 940, 220]), category: 'Text', text: facts(img) },
    { bbox: px([60, 240, 940, 270]), category: 'Caption', text: `Table 1: simulated measurements of page ${idOf(img)}` },
    {
      bbox: px([60, 280, 940, 420]),
      category: 'Table',
      text: `<table><thead><tr><th>Property</th><th>Value</th></tr></thead><tbody><tr><td>width</td><td>${img.width}</td></tr><tr><td>height</td><td>${img.height}</td></tr></tbody></table>`,
    },
    { bbox: px([200, 440, 800, 480]), category: 'Formula', text: `A = ${img.width} \\times ${img.height}` },
    { bbox: px([100, 500, 600, 800]), category: 'Picture' },
    { bbox: px([460, 960, 540, 980]), category: 'Page-footer', text: '1' },
  ];
  if (!looping) return JSON.stringify(cells);
  // A loop stopped at max_tokens: the same cell again and again, cut inside the last one.
  const loop = { bbox: px([60, 820, 940, 840]), category: 'Text', text: 'simulated repetition loop' };
  const text = JSON.stringify([...cells.slice(0, 4), ...Array.from({ length: 30 }, () => loop)]);
  return text.slice(0, text.length - 25);
}

function olmocr(img: ImageFacts): string {
  return [
    '---',
    'primary_language: en',
    'is_rotation_valid: True',
    'rotation_correction: 0',
    'is_table: True',
    'is_diagram: False',
    '---',
    `# Simulated page ${idOf(img)}`,
    '',
    notice('olmOCR-2'),
    '',
    facts(img),
    '',
    `<table><tr><th>Property</th><th>Value</th></tr><tr><td>width</td><td>${img.width}</td></tr><tr><td>height</td><td>${img.height}</td></tr></table>`,
    '',
    `\\[\nA = ${img.width} \\times ${img.height}\n\\]`,
    '',
  ].join('\n');
}

function chandra(prompt: string, img: ImageFacts, looping: boolean): string {
  if (!prompt.includes('layout blocks')) return withLoop(`<p>${notice('Chandra')}</p><p>${facts(img)}</p>`, looping);
  const div = (b: number[], label: string, inner: string) => `<div data-bbox="${b.join(' ')}" data-label="${label}">${inner}</div>`;
  const out = [
    div([61, 20, 962, 41], 'Page-Header', '<p>Folio simulator · running header</p>'),
    div([61, 61, 962, 102], 'Section-Header', `<h1>Simulated page ${idOf(img)}</h1>`),
    div([61, 113, 962, 154], 'Text', `<p>${notice('Chandra')}</p>`),
    div([61, 164, 962, 225], 'Text', `<p>${facts(img)} Inline math: <math>w &gt; 0</math>.</p>`),
    div(
      [61, 287, 962, 430],
      'Table',
      `<table><tr><th rowspan="2">Property</th><th colspan="2">Value</th></tr><tr><th>pixels</th><th>note</th></tr><tr><td>width</td><td>${img.width}</td><td>simulated</td></tr><tr><td>height</td><td>${img.height}</td><td>simulated</td></tr></table>`,
    ),
    div([205, 451, 819, 492], 'Equation-Block', `<math display="block">A = ${img.width} \\times ${img.height}</math>`),
    div([102, 512, 614, 819], 'Image', `<img alt="A simulated figure of page ${idOf(img)}"/>`),
    div([471, 983, 553, 1004], 'Page-Footer', '<p>1</p>'),
  ].join('\n');
  return looping ? out + '\n' + div([61, 830, 962, 850], 'Text', '<p>' + 'simulated repetition loop '.repeat(40)) : out;
}

function nanonets(img: ImageFacts): string {
  return [
    `Folio simulator · running header <page_number>1</page_number>`,
    '',
    `# Simulated page ${idOf(img)}`,
    '',
    notice('Nanonets-OCR2'),
    '',
    `${facts(img)} Area $A = ${img.width} \\times ${img.height}$.`,
    '',
    `<table><tr><th>Property</th><th>Value</th></tr><tr><td>width</td><td>${img.width}</td></tr><tr><td>height</td><td>${img.height}</td></tr></table>`,
    '',
    `<img>A simulated figure of page ${idOf(img)}</img>`,
    '',
    '<watermark>SIMULATED</watermark>',
    '',
    '☐ not a real answer ☑ simulated',
    '',
  ].join('\n');
}

function otsl(img: ImageFacts): string {
  return `<fcel>Property<fcel>Value<lcel><nl><fcel>width<fcel>${img.width}<fcel>px<nl><fcel>height<fcel>${img.height}<fcel>px<nl><fcel>simulated<ecel><ecel><nl>`;
}

function paddle(prompt: string, img: ImageFacts): string {
  const task = prompt.trim();
  if (task === 'Table Recognition:') return otsl(img);
  if (task === 'Formula Recognition:') return `A = ${img.width} \\times ${img.height}`;
  return [`Simulated page ${idOf(img)}`, notice('PaddleOCR-VL'), facts(img), ''].join('\n');
}

function mineru(prompt: string, img: ImageFacts, looping: boolean): string {
  if (prompt.includes('Layout Detection')) {
    const box = (b: number[], type: string) => `<|box_start|>${b.join(' ')}<|box_end|><|ref_start|>${type}<|ref_end|><|rotate_up|>`;
    const out = [
      box([60, 20, 940, 40], 'header'),
      box([60, 60, 940, 100], 'title'),
      box([60, 110, 940, 150], 'text'),
      box([60, 160, 940, 220], 'text'),
      box([60, 240, 940, 270], 'table_caption'),
      box([60, 280, 940, 420], 'table'),
      box([200, 440, 800, 480], 'equation'),
      box([100, 500, 600, 800], 'image'),
      box([460, 960, 540, 980], 'page_number'),
    ].join('\n');
    return looping ? out + '\n' + box([60, 820, 940, 840], 'text').repeat(40) : out;
  }
  if (prompt.includes('Table Recognition')) return withLoop(otsl(img), looping);
  if (prompt.includes('Formula Recognition')) return withLoop(`A = ${img.width} \\times ${img.height}`, looping);
  return withLoop(
    `${SIM_MARKER}: a ${img.width}x${img.height} px block read by the Folio vLLM simulator in MinerU2.5's answer shape (sha256 ${idOf(img)}).`,
    looping,
  );
}
