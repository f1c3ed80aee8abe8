/**
 * Retry and fallback by policy (issue 18). A page is read by the chosen engine; a looping or
 * truncated answer is read again once with the model profile's official mitigation, then by the
 * next engine of the request's `fallback` order. Every try is recorded with how it ended, so a
 * fallback never hides what went wrong; a page no engine could save fails with a page code.
 */
import { FolioError, type Metrics } from '../../shared/operations/index.ts';
import type { PageAttempt, PageQuality } from '../../shared/bus/index.ts';
import type { EngineOutput, OcrEngine, PageInput, RecognizeOptions } from './engine.ts';
import type { EngineRef } from './engine-choice.ts';
import { assessPage, blocksWithTokenConfidence } from './quality.ts';

/** Errors that say this page (not the backend) went wrong: the next engine may read it. */
const PAGE_ERRORS = new Set(['FOLIO_ENGINE_TRUNCATED', 'FOLIO_ENGINE_MALFORMED', 'FOLIO_ENGINE_FAILED', 'FOLIO_ENGINE_REJECTED']);

/** Engines that generate text can loop, and have a mitigation to read again with. */
const generative = (engine: OcrEngine) => engine.name === 'vllm';

export interface ReadPageResult {
  output: EngineOutput;
  quality: PageQuality;
  attempts: PageAttempt[];
}

export interface ReadPageDeps {
  metrics: Pick<Metrics, 'pageRetries' | 'pageFallbacks'>;
}

/**
 * Reads one page through `engines` in order. Errors that are not the page's (unavailable,
 * timeout, a cancelled job) are thrown as they are: the pipeline's redelivery retries those.
 */
export async function readPage(deps: ReadPageDeps, engines: EngineRef[], input: PageInput, signal: AbortSignal): Promise<ReadPageResult> {
  const attempts: PageAttempt[] = [];
  let lastBad: 'looping' | 'truncated' | undefined;
  let lastError: FolioError | undefined;
  for (const [i, ref] of engines.entries()) {
    const engine = await ref.get();
    if (!engine) {
      attempts.push({
        engine: ref.name,
        outcome: 'skipped',
        code: 'FOLIO_ENGINE_REJECTED',
        message: `Engine "${ref.name}" is not configured on this deployment`,
      });
      continue;
    }
    const tries: Array<RecognizeOptions | undefined> = generative(engine) ? [undefined, { mitigation: 'loop' }] : [undefined];
    for (const options of tries) {
      const mitigation = options?.mitigation ? { mitigation: 'loop-mitigation' } : {};
      let output: EngineOutput;
      try {
        output = await engine.recognize(input, signal, options);
      } catch (err) {
        if (!(err instanceof FolioError) || !PAGE_ERRORS.has(err.code) || signal.aborted) throw err;
        attempts.push({
          engine: engine.name,
          outcome: err.code === 'FOLIO_ENGINE_TRUNCATED' ? 'truncated' : 'error',
          code: err.code,
          message: err.message,
          ...mitigation,
        });
        deps.metrics.pageRetries.inc({ engine: engine.name, reason: err.code === 'FOLIO_ENGINE_TRUNCATED' ? 'truncated' : 'error' });
        lastError = err;
        lastBad = err.code === 'FOLIO_ENGINE_TRUNCATED' ? 'truncated' : lastBad;
        // Only a truncation is worth the loop mitigation; other page errors go to the next engine.
        if (err.code !== 'FOLIO_ENGINE_TRUNCATED') break;
        continue;
      }
      attempts.push(...(output.attempts ?? []));
      const blocks = output.tokens ? blocksWithTokenConfidence(output.blocks, output.raw, output.tokens) : output.blocks;
      const quality = await assessPage({
        ...input,
        markdown: output.markdown,
        blocks,
        tokens: output.tokens,
        truncated: output.truncated,
        generative: generative(engine),
      });
      if (quality.reasons.includes('looping')) {
        attempts.push({ engine: output.engine, outcome: 'looping', message: `repetition ${quality.repetition}`, ...mitigation });
        deps.metrics.pageRetries.inc({ engine: output.engine, reason: 'looping' });
        lastBad = 'looping';
        lastError = undefined;
        continue;
      }
      attempts.push({ engine: output.engine, outcome: 'ok', ...mitigation });
      if (i > 0) deps.metrics.pageFallbacks.inc({ engine: output.engine, reason: firstReason(attempts) });
      const { tokens: _tokens, attempts: _inner, truncated: _truncated, ...kept } = output;
      return { output: { ...kept, blocks }, quality, attempts };
    }
  }
  // One engine and an engine error (a truncation included): thrown as the engine said, retryable as
  // before (another delivery may get through); the tries ride along in its details.
  if (lastError && (engines.length === 1 || !lastBad)) {
    throw new FolioError(lastError.code, lastError.message, { ...lastError.details, attempts }, { cause: lastError, public: lastError.public });
  }
  // Every engine in the order read it badly: the page cannot be saved by trying again.
  throw new FolioError(lastBad === 'looping' ? 'FOLIO_PAGE_LOOPING' : 'FOLIO_PAGE_TRUNCATED', undefined, { attempts });
}

function firstReason(attempts: PageAttempt[]): string {
  return attempts.find((a) => a.outcome !== 'ok')?.outcome ?? 'none';
}
