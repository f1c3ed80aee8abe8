/**
 * PaddleOCR-VL over vLLM alone: the pipeline's layout model is not a VLM, so a page goes whole to
 * the recogniser with one task prompt (`use_layout_detection=False`). Answers: text for `OCR:`
 * (one line per paragraph), OTSL for `Table Recognition:` (→ HTML), LaTeX for
 * `Formula Recognition:`. A repetition loop is cut as the official `truncate_repetitive_content`
 * does. No boxes: blocks cover the page. Pure.
 */
import type { TaskMode } from '../../../../shared/bus/index.ts';
import type { ParsedPage } from './grounding.ts';
import { END_TOKENS, looksLikeOtsl, otslToHtml, pageFromElements, truncateRepetitive, type Element } from './vlm-text.ts';

export const PADDLE_PROMPTS: Readonly<Record<TaskMode, string>> = {
  markdown: 'OCR:',
  ocr: 'OCR:',
  free: 'OCR:',
  figure: 'Chart Recognition:',
  describe: 'OCR:',
};

/** The pipeline's default pixel bounds for the recogniser (mm_processor_kwargs). */
export const PADDLE_MIN_PIXELS = 112_896;
export const PADDLE_MAX_PIXELS = 1_003_520;

export function parsePaddleOutput(raw: string, width: number, height: number, prompt = 'OCR:'): ParsedPage & { truncatedLoop: boolean } {
  const text = raw.replace(END_TOKENS, '');
  const table = prompt.startsWith('Table') || looksLikeOtsl(text);
  const { text: kept, cut } = truncateRepetitive(text, table ? 5000 : 50);
  const page: [number, number, number, number] = [0, 0, width, height];
  let elements: Element[];
  if (table) elements = [{ type: 'table', bbox: page, markdown: looksLikeOtsl(kept) ? otslToHtml(kept) : kept }];
  else if (prompt.startsWith('Formula')) elements = [{ type: 'equation', bbox: page, markdown: `$$\n${stripDelimiters(kept)}\n$$` }];
  else {
    elements = kept
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => ({ type: looksLikeOtsl(l) ? 'table' : 'text', bbox: page, markdown: looksLikeOtsl(l) ? otslToHtml(l) : l }));
  }
  return { ...pageFromElements(elements), truncatedLoop: cut };
}

function stripDelimiters(s: string): string {
  return s
    .trim()
    .replace(/^\$\$([\s\S]*)\$\$$/, '$1')
    .replace(/^\\\[([\s\S]*)\\\]$/, '$1')
    .trim();
}
