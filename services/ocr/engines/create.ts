import type { Config } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { EngineSet } from '../engine-choice.ts';
import type { OcrEngine } from '../engine.ts';

type Name = 'cpu' | 'vllm';

/**
 * The engines a deployment offers, built from config. Each is loaded on first use, so a vLLM
 * deployment never loads onnxruntime and the CPU workers start only where they are wanted.
 */
export async function createEngineSet(config: Readonly<Config>, log: Logger): Promise<EngineSet & { close(): Promise<void> }> {
  const made = new Map<Name, Promise<OcrEngine | undefined>>();
  const build = async (name: Name): Promise<OcrEngine | undefined> => {
    if (name === 'cpu') {
      const { createCpuEngine } = await import('./cpu/engine.ts');
      return createCpuEngine({
        workers: config.FOLIO_CPU_WORKERS,
        int8: config.FOLIO_CPU_INT8,
        recyclePages: config.FOLIO_CPU_RECYCLE_PAGES,
        recycleRssBytes: config.FOLIO_CPU_RECYCLE_RSS_MB * 1024 * 1024,
        log: log.child({ engine: 'cpu' }),
      });
    }
    if (config.VLLM_BASE_URLS.length === 0) return undefined;
    const { createVllmEngine } = await import('./vllm/engine.ts');
    return createVllmEngine({
      baseUrls: config.VLLM_BASE_URLS,
      model: config.VLLM_MODEL,
      models: config.VLLM_MODELS,
      profiles: config.VLLM_PROFILES,
      apiKey: config.VLLM_API_KEY,
      maxTokens: config.VLLM_MAX_TOKENS,
      timeoutMs: config.VLLM_TIMEOUT_MS,
      maxWindow: config.FOLIO_OCR_MAX_WINDOW,
      minWindow: config.FOLIO_OCR_MIN_WINDOW,
      log: log.child({ engine: 'vllm' }),
    });
  };
  const get = (name: Name) => {
    if (!made.has(name)) made.set(name, build(name));
    return made.get(name)!;
  };
  const fallback = await get(config.engine);
  if (!fallback) throw new Error(`Engine ${config.engine} cannot be created: set VLLM_BASE_URLS`);
  return {
    default: fallback,
    get,
    async close() {
      await Promise.allSettled([...made.values()].map(async (e) => (await e)?.close()));
    },
  };
}
