/**
 * Model profiles: what differs between OCR vision models served by vLLM — the prompt per task,
 * the sampling settings (the request body) and the output parser. A backend is configured with one
 * (VLLM_PROFILES), so another model is a setting, not a fork of the engine.
 */
import type { TaskMode } from '../../../../shared/messages.ts';
import { CONTEXT_TOKENS, FALLBACK_PROMPT, TASK_PROMPTS, buildChatBody, buildRequestBody, parseDeepSeekOutput, promptTokens } from './deepseek.ts';
import type { ParsedPage } from './grounding.ts';
import { parsePlainMarkdown } from './plain.ts';

export const PROFILE_NAMES = ['deepseek-ocr', 'plain'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface ModelProfile {
  name: ProfileName;
  prompts: Readonly<Record<TaskMode, string>>;
  /** A cheaper prompt to retry a truncated page with (none: truncation fails the page). */
  fallbackPrompt?: string;
  /** Context length when the server does not report `max_model_len` in /v1/models. */
  defaultContextTokens: number;
  /** Upper estimate of a page's prompt tokens (image + text + template). */
  promptTokens(width: number, height: number, prompt: string): number;
  body(p: { model: string; image: Buffer; prompt: string; maxTokens: number }): Record<string, unknown>;
  parse(raw: string, width: number, height: number, opts: { page: number; task: TaskMode; prompt: string }): ParsedPage;
}

const deepseek: ModelProfile = {
  name: 'deepseek-ocr',
  prompts: TASK_PROMPTS,
  fallbackPrompt: FALLBACK_PROMPT,
  defaultContextTokens: CONTEXT_TOKENS,
  promptTokens,
  body: (p) => buildRequestBody(p) as unknown as Record<string, unknown>,
  // The fallback prompt has no grounding: whatever the task, parse what was asked.
  parse: (raw, w, h, o) => parseDeepSeekOutput(raw, w, h, { page: o.page, task: o.prompt === TASK_PROMPTS.ocr ? 'ocr' : o.task }),
};

/**
 * Prompts in the spirit of olmOCR's and Qwen2.5-VL's document prompts; models with a fixed prompt
 * of their own mostly follow these too. Vision tokens: Qwen2-VL-style encoders (olmOCR, dots.ocr,
 * PaddleOCR-VL, Qwen2.5-VL) spend one token per 28×28 pixels.
 */
const PLAIN_PROMPTS: Record<TaskMode, string> = {
  markdown:
    'Convert this document page to Markdown in natural reading order. Write headings with #, tables as HTML <table> (keep rowspan and colspan), formulas as LaTeX (\\( \\) inline, \\[ \\] display). Output only the page content.',
  ocr: 'Read all the text in this image in reading order. Output only the text.',
  free: 'Read all the text in this image in reading order. Output only the text.',
  figure: 'Describe this figure or chart; if it shows data, give it as an HTML <table>.',
  describe: 'Describe this image in detail.',
};

const plain: ModelProfile = {
  name: 'plain',
  prompts: PLAIN_PROMPTS,
  defaultContextTokens: 32_768,
  promptTokens: (w, h, prompt) => Math.ceil(w / 28) * Math.ceil(h / 28) + Math.ceil(prompt.length / 2) + 32,
  body: (p) => buildChatBody(p) as unknown as Record<string, unknown>,
  parse: (raw, w, h) => parsePlainMarkdown(raw, w, h),
};

export const PROFILES: Readonly<Record<ProfileName, ModelProfile>> = { 'deepseek-ocr': deepseek, plain };

export function profileByName(name: string): ModelProfile {
  const p = (PROFILES as Record<string, ModelProfile>)[name];
  if (!p) throw new Error(`Unknown vLLM model profile "${name}" (known: ${PROFILE_NAMES.join(', ')})`);
  return p;
}
