/**
 * olmOCR-2 (allenai): one call per page, the prompt text *before* the image, the page rendered so
 * its longest side is 1288 px; the answer is YAML front matter (language, rotation, table/diagram
 * flags) then Markdown with `\( \)`/`\[ \]` LaTeX and HTML tables, headers and footers left out by
 * the model. No boxes: blocks cover the page. Pure.
 */
import type { TaskMode } from '../../../../shared/bus/index.ts';
import type { ParsedPage } from './grounding.ts';
import { parsePlainMarkdown } from './plain.ts';

/** `build_no_anchoring_v4_yaml_prompt()` (olmocr/prompts/prompts.py). */
export const OLMOCR_PROMPT =
  'Attached is one page of a document that you must process. Just return the plain text representation of this document as if you were reading it naturally. Convert equations to LateX and tables to HTML.\n' +
  'If there are any figures or charts, label them with the following markdown syntax ![Alt text describing the contents of the figure](page_startx_starty_width_height.png)\n' +
  'Return your output as markdown, with a front matter section on top specifying values for the primary_language, is_rotation_valid, rotation_correction, is_table, and is_diagram parameters.';

export const OLMOCR_PROMPTS: Readonly<Record<TaskMode, string>> = {
  markdown: OLMOCR_PROMPT,
  ocr: OLMOCR_PROMPT,
  free: OLMOCR_PROMPT,
  figure: OLMOCR_PROMPT,
  describe: OLMOCR_PROMPT,
};

/** `--target_longest_image_dim`: olmOCR renders pages so the longest side is this many pixels. */
export const OLMOCR_LONGEST_SIDE = 1288;

/** olmOCR's temperature ladder per attempt ("higher temperature helps overcome repetition issues"). */
export const OLMOCR_TEMPERATURES = [0.1, 0.1, 0.2, 0.3, 0.5, 0.8, 0.9, 1.0] as const;

export interface OlmFrontMatter {
  primary_language?: string | null;
  is_rotation_valid?: boolean;
  rotation_correction?: number;
  is_table?: boolean;
  is_diagram?: boolean;
}

/**
 * The front matter as `FrontMatterParser` reads it: the answer must start with `---\n`, the YAML
 * runs to the next `\n---`; booleans accept True/true. Without front matter (a model that skipped
 * it, or an answer cut inside it) the whole text is the page.
 */
export function splitFrontMatter(raw: string): { front: OlmFrontMatter | null; body: string } {
  const text = raw.replace(/^\uFEFF/, '');
  const m = /^\s*---[ \t]*\n([\s\S]*?)\n---[ \t]*(?:\n|$)/.exec(text);
  if (!m) {
    // Cut inside the front matter: no page text at all.
    if (/^\s*---[ \t]*\n(?:[a-z_]+:[^\n]*\n?)*$/.test(text)) return { front: null, body: '' };
    return { front: null, body: text };
  }
  const front: OlmFrontMatter = {};
  for (const line of m[1].split('\n')) {
    const kv = /^\s*([a-z_]+)\s*:\s*(.*?)\s*$/.exec(line);
    if (!kv) continue;
    const [, key, value] = kv;
    const bool = /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : undefined;
    if (key === 'primary_language') front.primary_language = value === 'null' || value === '' ? null : value;
    else if (key === 'rotation_correction' && /^\d+$/.test(value)) front.rotation_correction = Number(value);
    else if ((key === 'is_rotation_valid' || key === 'is_table' || key === 'is_diagram') && bool !== undefined) front[key] = bool;
  }
  return { front, body: text.slice(m[0].length) };
}

/** olmOCR's raw answer → Markdown and blocks (each over the whole page), plus the front matter. */
export function parseOlmOcrOutput(raw: string, width: number, height: number): ParsedPage & { front: OlmFrontMatter | null } {
  const { front, body } = splitFrontMatter(raw);
  // "null" is the model's answer for a page without text.
  const text = body.trim() === 'null' ? '' : body;
  return { ...parsePlainMarkdown(text, width, height), front };
}
