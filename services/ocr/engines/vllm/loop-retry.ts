/**
 * What each model's official code changes when it reads a page again after a loop or a cut-off
 * answer (../shared/vlm-profiles.md, "loop mitigation"), as overrides of the request body.
 * Where a project has no official retry, the derived one is named so.
 */
import type { ProfileName } from './profiles.ts';

export const LOOP_RETRY: Record<ProfileName, Record<string, unknown>> = {
  // The n-gram ban at temperature 0 stays the guard; on top, the repetition_penalty 1.1 users run against loops (DeepSeek-OCR-2#28).
  'deepseek-ocr': { repetition_penalty: 1.1 },
  'deepseek-ocr-2': { repetition_penalty: 1.1 },
  // dots.ocr's own advice: "low temperature often causes repetitive/looping output" (demo_vllm_svg.py runs at 0.9); a middle rung.
  'dots-ocr': { temperature: 0.5, top_p: 1.0 },
  // olmOCR's temperature ladder [0.1, 0.1, 0.2, 0.3, 0.5, …]: the first rung that differs.
  'olmocr-2': { temperature: 0.2 },
  // Chandra resamples at temperature 0.3, top_p 0.95 when detect_repeat_token fires.
  chandra: { temperature: 0.3, top_p: 0.95 },
  // No official retry (derived): a mild repetition penalty.
  'nanonets-ocr2': { repetition_penalty: 1.1 },
  // PaddleOCR-VL's optional repetition_penalty.
  'paddleocr-vl': { repetition_penalty: 1.1 },
  // MinerU's block-stage penalties (presence 1.0, frequency 0.05) on top of its n-gram ban.
  'mineru-2.5': { presence_penalty: 1.0, frequency_penalty: 0.05 },
  plain: { temperature: 0.3, repetition_penalty: 1.1 },
};
