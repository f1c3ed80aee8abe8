/**
 * vllm-sim (test/benchmark tool): fake page text in DeepSeek-OCR's output shape.
 * It is derived from the image (size, byte count, hash) so tests can tell pages apart, and it says
 * loudly that it is simulated so nobody mistakes it for a model transcription.
 */

export const SIM_MARKER = 'SIMULATED OUTPUT (vllm-sim)';

export interface ImageFacts {
  width: number;
  height: number;
  bytes: number;
  /** Hex sha256 of the image bytes. */
  sha256: string;
}

export type SimTask = 'markdown' | 'ocr' | 'free' | 'figure' | 'describe' | 'other';

/** Which official prompt the text part carries (the simulator answers each in its own shape). */
export function taskOf(prompt: string): SimTask {
  if (prompt.includes('Convert the document to markdown')) return 'markdown';
  if (prompt.includes('OCR this image')) return 'ocr';
  if (prompt.includes('Free OCR')) return 'free';
  if (prompt.includes('Parse the figure')) return 'figure';
  if (prompt.includes('Describe this image')) return 'describe';
  return 'other';
}

export function simulatedText(task: SimTask, img: ImageFacts): string {
  const id = img.sha256.slice(0, 16);
  const facts = `Image ${img.width}x${img.height} px, ${img.bytes} bytes, sha256 ${id}.`;
  const notice = `${SIM_MARKER}: written by the Folio vLLM simulator, not by DeepSeek-OCR.`;
  switch (task) {
    case 'markdown':
      // Shapes of the real model's answers: a table's header comes before its caption's, with the
      // caption text and the <table> after both; spans in the table; LaTeX; a figure with a caption.
      return (
        [
          el('title', [62, 40, 938, 88], `# Simulated page ${id}`),
          el('text', [62, 110, 938, 150], notice),
          el('text', [62, 160, 938, 230], facts),
          el('sub_title', [62, 245, 938, 270], '## Measurements'),
          el('table', [62, 310, 938, 420], '') +
            el('table_caption', [62, 280, 938, 305], `Table 1: simulated measurements of page ${id}\n`) +
            `<table><tr><td rowspan="2">Property</td><td colspan="2">Value</td></tr><tr><td>pixels</td><td>note</td></tr>` +
            `<tr><td>width</td><td>${img.width}</td><td>simulated</td></tr><tr><td>height</td><td>${img.height}</td><td>simulated</td></tr>` +
            `<tr><td>sha256</td><td>${id}</td><td>simulated</td></tr></table>`,
          el('equation', [62, 430, 938, 470], `\\[ A \\coloneqq ${img.width} \\times ${img.height} \\]`),
          el('image', [100, 480, 600, 800], ''),
          el('image_caption', [100, 805, 600, 830], `<center>Figure 1: simulated figure of page ${id}</center>`),
        ].join('\n\n') + '\n'
      );
    case 'ocr':
      // "OCR this image." answers with the text inside the refs, one line per element.
      return [ocrLine([62, 40, 938, 88], notice), ocrLine([62, 110, 938, 150], facts)].join('\n') + '\n';
    case 'free':
      return `${notice}\n\n${facts}\n`;
    case 'figure':
      return `${notice}\n\nA simulated chart; ${facts}\n`;
    case 'describe':
      return `${notice}\n\nThe image is a simulated page. ${facts}\n`;
    default:
      return `${notice}\n\n${facts}\n`;
  }
}

/** What a repetition loop looks like when it hits max_tokens: some content, then one line forever. */
export function loopingText(task: SimTask, img: ImageFacts): string {
  const start = simulatedText(task, img);
  return start.slice(0, Math.ceil(start.length / 2)) + '\n' + 'simulated repetition loop\n'.repeat(40);
}

/** The answer of a model under the `plain` profile: Markdown only, no grounding, whatever was asked. */
export function simulatedPlainText(img: ImageFacts): string {
  const id = img.sha256.slice(0, 16);
  return (
    [
      `# Simulated page ${id}`,
      `${SIM_MARKER}: written by the Folio vLLM simulator (plain Markdown profile), not by any model.`,
      `Image ${img.width}x${img.height} px, ${img.bytes} bytes, sha256 ${id}.`,
      '## Measurements',
      `<table><tr><th>Property</th><th>Value</th></tr><tr><td>width</td><td>${img.width}</td></tr><tr><td>height</td><td>${img.height}</td></tr></table>`,
      `\\[ A = ${img.width} \\times ${img.height} \\]`,
    ].join('\n\n') + '\n'
  );
}

function ocrLine(box: [number, number, number, number], text: string): string {
  return `<|ref|>${text}<|/ref|><|det|>[[${box.join(', ')}]]<|/det|>`;
}

function el(label: string, box: [number, number, number, number], content: string): string {
  return `<|ref|>${label}<|/ref|><|det|>[[${box.join(', ')}]]<|/det|>\n${content}`;
}

/**
 * Vision tokens of DeepSeek-OCR's Gundam mode: a 1024² global view (16×16 + row newlines + a
 * separator) plus 640² tiles (10×10 + row newlines) on the grid whose aspect ratio is closest.
 * A portrait A4/Letter page gets 2×3 tiles = 903 tokens, as the protocol doc says.
 */
export function imageTokens(width: number, height: number): number {
  const global = 16 * 17 + 1;
  if (width <= 640 && height <= 640) return global;
  const ratio = width / height;
  let best: [number, number] = [1, 1];
  let bestDiff = Infinity;
  const grids: Array<[number, number]> = [];
  for (let n = 2; n <= 9; n++) for (let i = 1; i <= n; i++) for (let j = 1; j <= n; j++) if (i * j === n) grids.push([i, j]);
  for (const [i, j] of grids) {
    const diff = Math.abs(ratio - i / j);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = [i, j];
    } else if (diff === bestDiff && width * height > 0.5 * 640 * 640 * i * j) {
      best = [i, j];
    }
  }
  const [cols, rows] = best;
  return global + rows * 10 * (cols * 10 + 1);
}
