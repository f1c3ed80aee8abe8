/**
 * The vLLM engine: OCR vision models (DeepSeek-OCR by default) behind one or more vLLM servers
 * (OpenAI API). One page = one chat completion, routed to the backend with the largest free share of its window;
 * the windows adapt (window.ts) so pages wait in JetStream rather than in vLLM's queue. Each
 * backend has a model profile (profiles.ts): its prompts, request body and output parser.
 */
import { settingNames } from '../../../../shared/config/index.ts';
import { createHash } from 'node:crypto';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { FolioError, type Logger } from '../../../../shared/operations/index.ts';
import type { EngineOutput, OcrEngine, PageInput, RecognizeOptions } from '../../engine.ts';
import type { TokenLogprob } from '../../quality.ts';
import { LOOP_RETRY } from './loop-retry.ts';
import { Backend } from './backend.ts';
import { PAGE_PROMPT_TOKENS } from './deepseek.ts';
import { mapVllmError } from './errors.ts';
import { profileByName, type ModelProfile, type ProfileName } from './profiles.ts';

export interface VllmEngineOptions {
  baseUrls: string[];
  /** Served model name, for every backend unless `models` says otherwise. */
  model: string;
  /** One per base URL, or one for all (default: `model`). */
  models?: string[];
  /** One per base URL, or one for all (default `deepseek-ocr`). */
  profiles?: ProfileName[];
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
  /** Deadline of the start-up check of `/v1/models` (default 10 s). */
  startupCheckMs?: number;
  /** Different pages failing in a row (HTTP 500, engine alive) before a backend is taken out (default 3). */
  maxPageFailures?: number;
}

export interface BackendState {
  url: string;
  healthy: boolean;
  window: number;
  inFlight: number;
  profile: ProfileName;
  model: string;
}

export interface VllmEngine extends OcrEngine {
  /** Per-backend state, for the service's metrics and for tests. */
  backends(): BackendState[];
}

/**
 * Builds the engine and checks each backend's `/v1/models` (with a deadline): a backend that
 * answers without the configured model fails start-up, since every page would fail; one that does
 * not answer starts out of rotation and is probed back in. max_tokens is checked against each
 * backend's context (its `max_model_len`, else the profile's) at start-up too.
 */
export async function createVllmEngine(opts: VllmEngineOptions): Promise<VllmEngine> {
  if (opts.baseUrls.length === 0) throw new Error('createVllmEngine: no vLLM base URL');
  const perBackend = <T>(list: T[] | undefined, name: string, fallback: T): T[] => {
    if (!list || list.length === 0) return opts.baseUrls.map(() => fallback);
    if (list.length === 1) return opts.baseUrls.map(() => list[0]);
    if (list.length !== opts.baseUrls.length)
      throw new Error(`createVllmEngine: ${list.length} ${name} for ${opts.baseUrls.length} base URLs (give one, or one per URL)`);
    return list;
  };
  const profiles = perBackend(opts.profiles, 'profiles', 'deepseek-ocr' as ProfileName).map(profileByName);
  const models = perBackend(opts.models, 'models', opts.model);
  const log = opts.log;
  const backends = opts.baseUrls.map(
    (baseUrl, i) =>
      new Backend({
        baseUrl,
        apiKey: opts.apiKey,
        model: models[i],
        profile: profiles[i],
        window: { min: opts.minWindow, max: opts.maxWindow, initial: opts.initialWindow },
        cooldownMs: opts.cooldownMs ?? 5000,
        maxCooldownMs: opts.maxCooldownMs ?? 60_000,
        metricsIntervalMs: opts.metricsIntervalMs ?? 1000,
        stuckMs: opts.timeoutMs,
        maxPageFailures: opts.maxPageFailures,
        log,
      }),
  );
  try {
    await checkBackends(backends, opts, log);
  } catch (err) {
    for (const b of backends) b.close();
    throw err;
  }
  return engineOver(backends, opts);
}

async function checkBackends(backends: Backend[], opts: VllmEngineOptions, log?: Logger): Promise<void> {
  const checks = await Promise.all(backends.map((b) => b.checkModel(opts.startupCheckMs ?? 10_000)));
  for (const [i, b] of backends.entries()) {
    const c = checks[i];
    if (c.state === 'missing') {
      throw new Error(
        `createVllmEngine: ${b.root} does not serve model "${b.model}" (it serves: ${c.served.join(', ') || 'none'}); set ${settingNames.vllmModel} (or ${settingNames.vllmModels}) to its served name`,
      );
    }
    if (c.state === 'unreachable') {
      log?.warn({ backend: b.root, why: c.why }, 'vLLM backend did not answer /v1/models at start-up');
      b.markDown(`unreachable at start-up: ${c.why}`);
    }
    // vLLM answers 400 to every page when prompt + max_tokens exceed the context: fail at start-up instead.
    const context = b.contextTokens ?? b.profile.defaultContextTokens;
    const prompt = b.profile.name === 'deepseek-ocr' ? PAGE_PROMPT_TOKENS : b.profile.promptTokens(1414, 2000, b.profile.prompts.markdown);
    if (opts.maxTokens + prompt > context) {
      throw new Error(
        `createVllmEngine: maxTokens ${opts.maxTokens} + ~${prompt} prompt tokens of a page exceed the ${context}-token context of ${b.root} (${b.model})`,
      );
    }
  }
}

function engineOver(backends: Backend[], opts: VllmEngineOptions): VllmEngine {
  const log = opts.log;
  let closed = false;
  let rotation = 0;

  /**
   * Largest free share of its window first; ties rotate so equal backends share the load. A share,
   * not a count: by count a 100-sequence backend with 30 free always beats a fresh 32-sequence one
   * whose window is still 1, which then never runs a page and so never grows (windows grow only
   * while in use); by share each backend is kept as full as the other, and both windows open.
   */
  function pick(exclude: Set<Backend>): Backend | undefined {
    const n = backends.length;
    let best: Backend | undefined;
    let bestShare = -Infinity;
    for (let i = 0; i < n; i++) {
      const b = backends[(rotation + i) % n];
      if (!b.healthy || exclude.has(b)) continue;
      const share = b.free / Math.max(1, b.window.size);
      if (!best || share > bestShare) {
        best = b;
        bestShare = share;
      }
    }
    rotation = (rotation + 1) % n;
    return best;
  }

  async function call(
    b: Backend,
    input: PageInput,
    fallback: boolean,
    signal: AbortSignal,
    mitigation?: RecognizeOptions['mitigation'],
  ): Promise<EngineOutput> {
    const profile = b.profile;
    const prompt = fallback ? profile.fallbackPrompt! : profile.prompts[input.task];
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
    let tokens = 0;
    // vLLM-only fields (skip_special_tokens, vllm_xargs, mm_processor_kwargs) ride along as extra top-level body fields.
    const complete = async (image: Buffer, p: string, size: { width: number; height: number }): Promise<{ content: string; completion: ChatCompletion }> => {
      // Token log-probabilities (the sampled token's only) feed the page's confidence (single-call pages: a two-stage page's
      // block calls are not mapped back); a loop retry takes the profile's official settings.
      const logprobs = !profile.twoStage || fallback ? { logprobs: true } : {};
      const body = {
        ...profile.body({ model: b.model, image, prompt: p, maxTokens: maxTokensFor(b, size.width, size.height, p) }),
        ...logprobs,
        ...(mitigation === 'loop' ? LOOP_RETRY[profile.name] : {}),
      };
      const completion = await b.client.chat.completions.create(body as unknown as ChatCompletionCreateParamsNonStreaming, {
        signal: ac.signal,
        timeout: opts.timeoutMs + 1000,
      });
      tokens += completion.usage?.completion_tokens ?? 0;
      return { content: answerOf(completion, profile, p), completion };
    };
    try {
      let out: EngineOutput;
      if (profile.twoStage && !fallback) {
        out = await twoStagePage(profile, input, complete);
      } else {
        const sent = profile.prepare
          ? await profile.prepare(input.image, input.width, input.height)
          : { image: input.image, width: input.width, height: input.height };
        const { content, completion } = await complete(sent.image, prompt, input);
        out = interpret(content, completion.usage?.completion_tokens, input, profile, prompt, sent);
        const tokens = tokenLogprobs(completion);
        if (tokens) out.tokens = tokens;
      }
      b.window.onSuccess({ latencyMs: performance.now() - started, tokens, inFlight: inFlightAtStart });
      b.pageSucceeded();
      return out;
    } catch (err) {
      // A two-stage page whose one call failed: its other calls are dropped, not left running in vLLM.
      ac.abort();
      if (timedOut) {
        // One slow page is not a dead backend: shrink the window; a stuck engine is caught by the
        // /metrics poller (waiting work, no tokens) and taken out there.
        b.window.onOverload('timeout', Date.now());
        throw new FolioError('FOLIO_ENGINE_TIMEOUT', `vLLM did not answer within ${opts.timeoutMs} ms`, { backend: b.root }, { cause: err });
      }
      // The caller gave up (shutdown, cancelled job): not the backend's fault.
      if (signal.aborted) throw callerAbort(signal, err);
      throw await judge(b, mapVllmError(err, b.root), input);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      b.inFlight--;
    }
  }

  /** What a failed call says about the backend, and the error the page gets. */
  async function judge(b: Backend, fe: FolioError, input: PageInput): Promise<FolioError> {
    const status = fe.details?.status;
    if (fe.code === 'FOLIO_ENGINE_TIMEOUT') b.window.onOverload('timeout', Date.now());
    if (fe.code === 'FOLIO_ENGINE_UNAVAILABLE') {
      b.window.onOverload('unavailable', Date.now());
      // 429/502/503 mean "too busy" or a gateway's hiccup: fewer pages, same backend. A refused
      // connection takes it out of rotation until a probe succeeds.
      if (status === undefined) b.markDown(fe.message);
    }
    if (fe.code === 'FOLIO_ENGINE_FAILED' && typeof status === 'number') {
      // An HTTP 500 may be this page (an image the model's processor chokes on) or a dead engine:
      // /health tells which. A dead engine is taken out, and the page may go elsewhere.
      if (!(await b.alive())) {
        b.markDown(fe.message);
        return new FolioError('FOLIO_ENGINE_UNAVAILABLE', fe.message, fe.details, { cause: fe });
      }
      b.pageFailed(pageKey(input), fe.message);
    }
    return fe;
  }

  /** Tries each backend in service at most once while they answer UNAVAILABLE: such a page never ran. */
  async function run(input: PageInput, fallback: boolean, signal: AbortSignal, mitigation?: RecognizeOptions['mitigation']): Promise<EngineOutput> {
    const tried = new Set<Backend>();
    let last: FolioError | undefined;
    for (;;) {
      if (signal.aborted) throw callerAbort(signal);
      const b = pick(tried);
      if (!b) throw last ?? new FolioError('FOLIO_ENGINE_UNAVAILABLE', 'No vLLM backend in service', { backends: backends.map((x) => x.root) });
      if (fallback && !b.profile.fallbackPrompt) {
        tried.add(b);
        continue;
      }
      try {
        return await call(b, input, fallback, signal, mitigation);
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

    async recognize(input, signal, options) {
      if (closed) throw new FolioError('FOLIO_ENGINE_UNAVAILABLE', 'The vLLM engine is closed');
      const mitigation = options?.mitigation;
      try {
        return await run(input, false, signal, mitigation);
      } catch (err) {
        if (!(err instanceof FolioError) || err.code !== 'FOLIO_ENGINE_TRUNCATED' || err.details?.fallback === false) throw err;
        // Truncation is usually a repetition loop in the layout pass; plain OCR is shorter and often
        // gets through (the protocol doc's advice). It gives up the layout boxes for this page.
        log?.warn({ page: input.page, task: input.task }, 'vLLM output truncated; retrying the page with the fallback prompt');
        try {
          const out = await run(input, true, signal, mitigation);
          // The page is kept, but the record says its layout pass was cut off and a lighter prompt answered.
          return {
            ...out,
            truncated: true,
            attempts: [
              { engine: 'vllm', outcome: 'truncated', code: err.code, message: err.message, ...(mitigation ? { mitigation: 'loop-mitigation' } : {}) },
            ],
          };
        } catch (again) {
          if (again instanceof FolioError && again.code === 'FOLIO_ENGINE_TRUNCATED') {
            throw new FolioError('FOLIO_ENGINE_TRUNCATED', 'vLLM output truncated, also with the fallback prompt', again.details, { cause: again });
          }
          // No backend with a fallback prompt: the truncation is the answer.
          if (again instanceof FolioError && again.code === 'FOLIO_ENGINE_UNAVAILABLE' && backends.some((b) => b.healthy)) throw err;
          throw again;
        }
      }
    },

    backends() {
      return backends.map((b) => ({ url: b.root, healthy: b.healthy, window: b.window.size, inFlight: b.inFlight, profile: b.profile.name, model: b.model }));
    },

    async close() {
      closed = true;
      for (const b of backends) b.close();
    },
  };

  /** max_tokens for this call: the configured value, lowered when this image's prompt would overflow the context. */
  function maxTokensFor(b: Backend, width: number, height: number, prompt: string): number {
    const context = b.contextTokens ?? b.profile.defaultContextTokens;
    const room = context - b.profile.promptTokens(width, height, prompt);
    return Math.max(1, Math.min(opts.maxTokens, room));
  }
}

/**
 * MinerU's two stages: the layout call on the page resized for it, then one call per block on a
 * crop of the full-resolution page (all at once: vLLM batches them). Any call that truncates
 * fails the page as truncated, as mineru-vl-utils does.
 */
async function twoStagePage(
  profile: ModelProfile,
  input: PageInput,
  complete: (image: Buffer, prompt: string, size: { width: number; height: number }) => Promise<{ content: string }>,
): Promise<EngineOutput> {
  const two = profile.twoStage!;
  const layoutImage = await two.prepareLayout(input.image, input.width, input.height);
  const layout = await complete(layoutImage.image, two.layoutPrompt, layoutImage);
  const blocks = two.blocks(layout.content, input.width, input.height);
  const contents = await Promise.all(
    blocks.map(async (block) => {
      if (block.prompt === null) return null;
      const crop = await two.crop(input.image, block, input.width, input.height);
      if (!crop) return null;
      return (await complete(crop.image, block.prompt, crop)).content;
    }),
  );
  const { markdown, blocks: out } = two.assemble(blocks, contents, input.width, input.height);
  if (markdown === '' && out.every((b) => b.type !== 'image')) throw new FolioError('FOLIO_ENGINE_MALFORMED', 'vLLM returned a page with no text');
  const raw = JSON.stringify({ layout: layout.content, blocks: blocks.map((b, i) => ({ type: b.type, bbox: b.bbox, content: contents[i] })) });
  return { engine: 'vllm', markdown, blocks: out, raw };
}

/** A retried page must count once: its image bytes identify it across deliveries. */
function pageKey(input: PageInput): string {
  return createHash('sha1').update(input.image).digest('hex');
}

/** A completed call's text; an answer without one, or cut at max_tokens, is an engine error. */
function answerOf(completion: ChatCompletion, profile: ModelProfile, prompt: string): string {
  const choice = completion && typeof completion === 'object' && Array.isArray(completion.choices) ? completion.choices[0] : undefined;
  const content = choice?.message?.content;
  if (!choice || typeof content !== 'string') throw new FolioError('FOLIO_ENGINE_MALFORMED', 'vLLM answer has no message content');
  const tokens = completion.usage?.completion_tokens;
  // `length` is a truncated page or a repetition loop: the official pipelines drop such pages.
  if (choice.finish_reason === 'length') {
    throw new FolioError('FOLIO_ENGINE_TRUNCATED', undefined, {
      tokens,
      ...(prompt === profile.fallbackPrompt || !profile.fallbackPrompt ? { fallback: false } : {}),
    });
  }
  if (choice.finish_reason !== 'stop') throw new FolioError('FOLIO_ENGINE_MALFORMED', `Unexpected finish_reason ${JSON.stringify(choice.finish_reason)}`);
  return content;
}

/** A page's answer → the engine's output; an empty or all-tags answer is not a result. */
function interpret(
  content: string,
  tokens: number | undefined,
  input: PageInput,
  profile: ModelProfile,
  prompt: string,
  sent: { width: number; height: number },
): EngineOutput {
  // Dense pages that overflow come back empty; blank pages are filtered before the engine, so empty = failed.
  if (content.trim() === '') throw new FolioError('FOLIO_ENGINE_MALFORMED', 'vLLM returned an empty page', { tokens });
  const { markdown, blocks } = profile.parse(content, input.width, input.height, { page: input.page, task: input.task, prompt, sent });
  // Grounded output that is all tags and no text (the model's way of failing some pages) is not a result.
  if (markdown === '' && blocks.every((b) => b.type !== 'image'))
    throw new FolioError('FOLIO_ENGINE_MALFORMED', 'vLLM returned a page with no text', { tokens });
  return { engine: 'vllm', markdown, blocks, raw: content };
}

/** The sampled tokens' log-probabilities of an answer, when the server sent them (`logprobs.content`). */
function tokenLogprobs(completion: ChatCompletion): TokenLogprob[] | undefined {
  const content = completion.choices?.[0]?.logprobs?.content;
  if (!Array.isArray(content) || content.length === 0) return undefined;
  const out: TokenLogprob[] = [];
  for (const t of content) {
    if (typeof t?.token !== 'string' || typeof t.logprob !== 'number') return undefined;
    out.push({ token: t.token, logprob: t.logprob });
  }
  return out;
}

function callerAbort(signal: AbortSignal, cause?: unknown): FolioError {
  // The pipeline may abort with a FolioError (e.g. a cancelled job) to say why; keep it.
  if (signal.reason instanceof FolioError) return signal.reason;
  return new FolioError('FOLIO_ENGINE_TIMEOUT', 'The OCR call was aborted', undefined, { cause: cause ?? signal.reason });
}
