import { FolioError } from '../../shared/errors.ts';
import type { JobOptions, PageText } from '../../shared/messages.ts';
import type { EngineOutput, OcrEngine, PageInput } from './engine.ts';
import { isTextLayerUsable, textLayerToOutput } from './engines/text-layer.ts';

export interface EngineSet {
  /** The deployment's default (FOLIO_ENGINE: vllm when a backend is configured, else cpu). */
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
