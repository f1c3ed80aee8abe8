import { FolioError } from '../../shared/operations/index.ts';
import type { JobOptions, PageText } from '../../shared/bus/index.ts';
import type { EngineOutput, OcrEngine, PageInput } from './engine.ts';
import { isTextLayerUsable, textLayerToOutput } from './engines/text-layer.ts';

export interface EngineSet {
  /** The deployment's default (options.ocr.engine: vllm when a backend is configured, else cpu). */
  default: OcrEngine;
  /** Engines by name, created on first use (the CPU engine's workers are not started in a vLLM deployment until asked for). */
  get(name: 'cpu' | 'vllm'): Promise<OcrEngine | undefined>;
}

/** Wraps a text layer as an engine so every path returns the same shape. */
const textLayerEngine = (text: PageText): OcrEngine => ({
  name: 'text-layer',
  concurrency: () => 1,
  recognize: async (_input: PageInput): Promise<EngineOutput> => textLayerToOutput(text),
  close: async () => {},
});

/**
 * Which engine reads a page. A born-digital page's own text layer is exact and costs nothing, so
 * the CPU engine defers to it; a vision model reads layout better, so it keeps the page unless
 * the PDF's fonts are missing (the rendered image then shows boxes, and only the text layer is right).
 */
export async function chooseEngine(engines: EngineSet, options: JobOptions, text: PageText | undefined): Promise<OcrEngine> {
  const requested = options.engine === 'auto' ? engines.default : await engines.get(options.engine);
  if (!requested) throw new FolioError('FOLIO_ENGINE_REJECTED', `Engine "${options.engine}" is not configured on this deployment`);
  if (options.textLayer === 'auto' && text && isTextLayerUsable(text) && (requested.name === 'cpu' || text.missingFonts)) {
    return textLayerEngine(text);
  }
  return requested;
}

/** An engine of a page's order, created only when the page gets to it (a fallback's workers start on first use). */
export interface EngineRef {
  name: string;
  get(): Promise<OcrEngine | undefined>;
}

/**
 * Issue 18: the engines a page is read by, in order. The first is the one chooseEngine picks
 * (with `engine=auto` and a `fallback` order, the order's first engine this deployment has); the
 * rest of the request's `fallback` order follows; an engine the deployment lacks is skipped when
 * reached. A text layer is exact: nothing follows it.
 */
export async function chooseEngines(engines: EngineSet, options: JobOptions, text: PageText | undefined): Promise<EngineRef[]> {
  const order = options.fallback ?? [];
  let first: OcrEngine | undefined;
  if (options.engine === 'auto' && order.length > 0) {
    for (const name of order) {
      first = await engines.get(name);
      if (first) break;
    }
  }
  const chosen = await chooseEngine(engines, first ? { ...options, engine: first.name as 'cpu' | 'vllm' } : options, text);
  const out: EngineRef[] = [{ name: chosen.name, get: async () => chosen }];
  if (chosen.name === 'text-layer') return out;
  for (const name of order) {
    if (out.some((e) => e.name === name)) continue;
    out.push({ name, get: () => engines.get(name) });
  }
  return out;
}
