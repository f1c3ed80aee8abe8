/**
 * The vLLM engine: DeepSeek-OCR behind one or more vLLM servers (OpenAI API).
 * One page = one chat completion, routed to the backend with the most free window; the windows
 * adapt (window.ts) so pages wait in JetStream rather than in vLLM's queue.
 */
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { FolioError } from '../../../../shared/errors.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { EngineOutput, OcrEngine, PageInput } from '../../engine.ts';
import { Backend } from './backend.ts';
import { CONTEXT_TOKENS, FALLBACK_PROMPT, PAGE_PROMPT_TOKENS, TASK_PROMPTS, buildRequestBody, parseDeepSeekOutput } from './deepseek.ts';
import { mapVllmError } from './errors.ts';

export interface VllmEngineOptions {
  baseUrls: string[];
  model: string;
  apiKey: string;
  maxTokens: number;
  timeoutMs: number;
  maxWindow: number;
  minWindow: number;
  log?: Logger;
  /** Window of a fresh backend (default minWindow; slow start grows it fast). */
  initialWindow?: number;
  /** Wait before the first probe of a failed backend (default 5 s, doubling to maxCooldownMs, default 60 s). */
  cooldownMs?: number;
  maxCooldownMs?: number;
  /** `/metrics` poll period (default 1 s); 0 disables polling. */
  metricsIntervalMs?: number;
}

export interface BackendState {
  url: string;
  healthy: boolean;
  window: number;
  inFlight: number;
}

export interface VllmEngine extends OcrEngine {
  /** Per-backend state, for the service's metrics and for tests. */
  backends(): BackendState[];
}

export function createVllmEngine(opts: VllmEngineOptions): VllmEngine {
  if (opts.baseUrls.length === 0) throw new Error('createVllmEngine: no vLLM base URL');
  // vLLM answers 400 to every page when prompt + max_tokens exceed the context: fail at startup instead.
  if (opts.maxTokens + PAGE_PROMPT_TOKENS > CONTEXT_TOKENS) {
    throw new Error(`createVllmEngine: maxTokens ${opts.maxTokens} + ~${PAGE_PROMPT_TOKENS} prompt tokens exceed DeepSeek-OCR's ${CONTEXT_TOKENS}-token context`);
  }
  const log = opts.log;
  const backends = opts.baseUrls.map(
    (baseUrl) =>
      new Backend({
        baseUrl,
        apiKey: opts.apiKey,
        window: { min: opts.minWindow, max: opts.maxWindow, initial: opts.initialWindow },
        cooldownMs: opts.cooldownMs ?? 5000,
        maxCooldownMs: opts.maxCooldownMs ?? 60_000,
        metricsIntervalMs: opts.metricsIntervalMs ?? 1000,
        stuckMs: opts.timeoutMs,
        log,
      }),
  );
  let closed = false;
  let rotation = 0;

  /** Most free window first; ties rotate so equal backends share the load. */
  function pick(exclude: Set<Backend>): Backend | undefined {
    const n = backends.length;
    let best: Backend | undefined;
    for (let i = 0; i < n; i++) {
      const b = backends[(rotation + i) % n];
      if (!b.healthy || exclude.has(b)) continue;
      if (!best || b.free > best.free) best = b;
    }
    rotation = (rotation + 1) % n;
    return best;
  }

  async function call(b: Backend, input: PageInput, prompt: string, signal: AbortSignal): Promise<EngineOutput> {
    const body = buildRequestBody({ model: opts.model, image: input.image, prompt, maxTokens: opts.maxTokens });
    // Our own deadline covers the whole exchange (the client's own timeout stops at the headers).
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, opts.timeoutMs);
    const onAbort = () => ac.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const inFlightAtStart = ++b.inFlight;
    const started = performance.now();
    try {
      // vLLM-only fields (skip_special_tokens, vllm_xargs) ride along as extra top-level body fields.
      const completion = await b.client.chat.completions.create(body as unknown as ChatCompletionCreateParamsNonStreaming, {
        signal: ac.signal,
        timeout: opts.timeoutMs + 1000,
      });
      const out = interpret(completion, input);
      b.window.onSuccess({ latencyMs: performance.now() - started, tokens: completion.usage?.completion_tokens, inFlight: inFlightAtStart });
      return out;
    } catch (err) {
      if (timedOut) {
        // One slow page is not a dead backend: shrink the window; a stuck engine is caught by the
        // /metrics poller (waiting work, no tokens) and taken out there.
        b.window.onOverload('timeout', Date.now());
        throw new FolioError('FOLIO_ENGINE_TIMEOUT', `vLLM did not answer within ${opts.timeoutMs} ms`, { backend: b.root }, { cause: err });
      }
      // The caller gave up (shutdown, cancelled job): not the backend's fault.
      if (signal.aborted) throw callerAbort(signal, err);
      const fe = mapVllmError(err, b.root);
      if (fe.code === 'FOLIO_ENGINE_UNAVAILABLE' || fe.code === 'FOLIO_ENGINE_TIMEOUT') {
        b.window.onOverload(fe.code === 'FOLIO_ENGINE_TIMEOUT' ? 'timeout' : 'unavailable', Date.now());
        // 429/503 mean "too busy" (a capped queue, a gateway): fewer pages, same backend. A dead
        // engine (500) or a refused connection takes it out of rotation until a probe succeeds.
        const status = fe.details?.status;
        if (fe.code === 'FOLIO_ENGINE_UNAVAILABLE' && status !== 429 && status !== 503) b.markDown(fe.message);
      }
      throw fe;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      b.inFlight--;
    }
  }

  /** Tries each backend in service at most once while they answer UNAVAILABLE: such a page never ran. */
  async function run(input: PageInput, prompt: string, signal: AbortSignal): Promise<EngineOutput> {
    const tried = new Set<Backend>();
    let last: FolioError | undefined;
    for (;;) {
      if (signal.aborted) throw callerAbort(signal);
      const b = pick(tried);
      if (!b) throw last ?? new FolioError('FOLIO_ENGINE_UNAVAILABLE', 'No vLLM backend in service', { backends: backends.map((x) => x.root) });
      try {
        return await call(b, input, prompt, signal);
      } catch (err) {
        if (!(err instanceof FolioError) || err.code !== 'FOLIO_ENGINE_UNAVAILABLE' || signal.aborted) throw err;
        tried.add(b);
        last = err;
      }
    }
  }

  return {
    name: 'vllm',

    concurrency() {
      // 0 while every backend is out: the ocr service then pulls nothing and pages wait in
      // JetStream (not failing attempts) until a probe brings a backend back.
      return backends.reduce((n, b) => n + (b.healthy ? b.window.size : 0), 0);
    },

    async recognize(input, signal) {
      if (closed) throw new FolioError('FOLIO_ENGINE_UNAVAILABLE', 'The vLLM engine is closed');
      const prompt = TASK_PROMPTS[input.task];
      try {
        return await run(input, prompt, signal);
      } catch (err) {
        if (!(err instanceof FolioError) || err.code !== 'FOLIO_ENGINE_TRUNCATED' || prompt === FALLBACK_PROMPT) throw err;
        // Truncation is usually a repetition loop in the layout pass; plain OCR is shorter and often
        // gets through (the protocol doc's advice). It gives up the layout boxes for this page.
        log?.warn({ page: input.page, task: input.task }, 'vLLM output truncated; retrying the page with "Free OCR."');
        try {
          return await run(input, FALLBACK_PROMPT, signal);
        } catch (again) {
          if (again instanceof FolioError && again.code === 'FOLIO_ENGINE_TRUNCATED') {
            throw new FolioError('FOLIO_ENGINE_TRUNCATED', 'vLLM output truncated, also with the "Free OCR." prompt', again.details, { cause: again });
          }
          throw again;
        }
      }
    },

    backends() {
      return backends.map((b) => ({ url: b.root, healthy: b.healthy, window: b.window.size, inFlight: b.inFlight }));
    },

    async close() {
      closed = true;
      for (const b of backends) b.close();
    },
  };
}

/** A completed call whose answer is unusable is an engine error, not a page. */
function interpret(completion: ChatCompletion, input: PageInput): EngineOutput {
  const choice = completion && typeof completion === 'object' && Array.isArray(completion.choices) ? completion.choices[0] : undefined;
  const content = choice?.message?.content;
  if (!choice || typeof content !== 'string') throw new FolioError('FOLIO_ENGINE_MALFORMED', 'vLLM answer has no message content');
  const tokens = completion.usage?.completion_tokens;
  // `length` is a truncated page or a repetition loop: the official pipeline drops such pages.
  if (choice.finish_reason === 'length') throw new FolioError('FOLIO_ENGINE_TRUNCATED', undefined, { tokens });
  if (choice.finish_reason !== 'stop') throw new FolioError('FOLIO_ENGINE_MALFORMED', `Unexpected finish_reason ${JSON.stringify(choice.finish_reason)}`);
  // Dense pages that overflow come back empty; blank pages are filtered before the engine, so empty = failed.
  if (content.trim() === '') throw new FolioError('FOLIO_ENGINE_MALFORMED', 'vLLM returned an empty page', { tokens });
  const { markdown, blocks } = parseDeepSeekOutput(content, input.width, input.height, { page: input.page });
  return { engine: 'vllm', markdown, blocks, raw: content };
}

function callerAbort(signal: AbortSignal, cause?: unknown): FolioError {
  // The pipeline may abort with a FolioError (e.g. a cancelled job) to say why; keep it.
  if (signal.reason instanceof FolioError) return signal.reason;
  return new FolioError('FOLIO_ENGINE_TIMEOUT', 'The OCR call was aborted', undefined, { cause: cause ?? signal.reason });
}
