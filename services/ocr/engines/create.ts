import type { Config } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { EngineSet } from '../engine-choice.ts';
import type { OcrEngine } from '../engine.ts';
import { createCpuEngine } from './cpu/engine.ts';
import { createVllmEngine } from './vllm/engine.ts';

/** The engines a deployment offers, built from config; the CPU engine starts its workers on first use. */
export function createEngineSet(config: Readonly<Config>, log: Logger): EngineSet & { close(): Promise<void> } {
  const made = new Map<'cpu' | 'vllm', OcrEngine>();
  const make = (name: 'cpu' | 'vllm'): OcrEngine | undefined => {
    if (made.has(name)) return made.get(name);
    let engine: OcrEngine | undefined;
    if (name === 'cpu') engine = createCpuEngine({ workers: config.FOLIO_CPU_WORKERS, log: log.child({ engine: 'cpu' }) });
    else if (config.VLLM_BASE_URLS.length > 0) {
      engine = createVllmEngine({
        baseUrls: config.VLLM_BASE_URLS,
        model: config.VLLM_MODEL,
        apiKey: config.VLLM_API_KEY,
        maxTokens: config.VLLM_MAX_TOKENS,
        timeoutMs: config.VLLM_TIMEOUT_MS,
        maxWindow: config.FOLIO_OCR_MAX_WINDOW,
        minWindow: config.FOLIO_OCR_MIN_WINDOW,
        log: log.child({ engine: 'vllm' }),
      });
    }
    if (engine) made.set(name, engine);
    return engine;
  };
  const fallback = make(config.engine);
  if (!fallback) throw new Error(`Engine ${config.engine} cannot be created: set VLLM_BASE_URLS`);
  return {
    default: fallback,
    get: make,
    async close() {
      await Promise.allSettled([...made.values()].map((e) => e.close()));
    },
  };
}
