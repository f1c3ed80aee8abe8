import { type Config, settingNames } from '../../../shared/config/index.ts';
import type { Logger } from '../../../shared/operations/index.ts';
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
        workers: config.ocr.cpu.workers,
        int8: config.ocr.cpu.int8,
        recyclePages: config.ocr.cpu.recyclePages,
        recycleRssBytes: config.ocr.cpu.recycleRssMb * 1024 * 1024,
        log: log.child({ engine: 'cpu' }),
      });
    }
    if (config.ocr.vllm.baseUrls.length === 0) return undefined;
    const { createVllmEngine } = await import('./vllm/engine.ts');
    return createVllmEngine({
      baseUrls: config.ocr.vllm.baseUrls,
      model: config.ocr.vllm.model,
      models: config.ocr.vllm.models,
      profiles: config.ocr.vllm.profiles,
      apiKey: config.ocr.vllm.apiKey,
      maxTokens: config.ocr.vllm.maxTokens,
      timeoutMs: config.ocr.vllm.timeoutMs,
      maxWindow: config.ocr.maxWindow,
      minWindow: config.ocr.minWindow,
      log: log.child({ engine: 'vllm' }),
    });
  };
  const get = (name: Name) => {
    if (!made.has(name)) made.set(name, build(name));
    return made.get(name)!;
  };
  const fallback = await get(config.ocr.engine);
  if (!fallback) throw new Error(`Engine ${config.ocr.engine} cannot be created: set ${settingNames.vllmBaseUrls}`);
  return {
    default: fallback,
    get,
    async close() {
      await Promise.allSettled([...made.values()].map(async (e) => (await e)?.close()));
    },
  };
}
