/**
 * vllm-sim: a TEST AND BENCHMARK TOOL that imitates a vLLM server running an OCR vision model
 * (DeepSeek-OCR by default; each model Folio has a profile for, profiles.ts). It is not the model:
 * every answer carries the line "SIMULATED OUTPUT (vllm-sim)".
 *
 * What it imitates: the OpenAI-compatible endpoints vLLM exposes, the request validation vLLM does
 * (model name, context length), continuous batching with `--max-num-seqs` and an unbounded waiting
 * queue, vLLM's `/metrics` names, and the failures the engine must survive (fault injection).
 * It answers each request in the shape of the model the request is for (read from its prompt,
 * system message and model name), or always as `profile` says; with `errorFormat: 'legacy'` and
 * `metrics: 'none'`, it imitates older vLLM servers and proxies.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { Faults, type FaultPlan } from './faults.ts';
import { Histogram, renderMetrics } from './metrics.ts';
import { imageTokens, loopingText, simulatedPlainText, simulatedText, taskOf, type ImageFacts, type SimTask } from './output.ts';
import { detectProfile, simulatedAnswer, tokenShare, type SimProfile } from './profiles.ts';
import { BatchScheduler, type QueueIntegrals } from './scheduler.ts';

export type { FaultKind, FaultPlan } from './faults.ts';
export type { QueueIntegrals } from './scheduler.ts';
export { SIM_MARKER } from './output.ts';
export { SIM_PROFILES, type SimProfile } from './profiles.ts';

export interface VllmSimulatorOptions {
  port?: number;
  host?: string;
  /** Served model name (vLLM's `--served-model-name`; default the HF id). */
  model?: string;
  /** Concurrent sequences (`--max-num-seqs`; default 100, as in the official scripts). */
  maxNumSeqs?: number;
  /** Cap on waiting requests, answered 503 beyond it (`--max-num-queued-reqs`; default unbounded). */
  maxQueued?: number;
  /** Prefill (vision encoder + ~930 prompt tokens) per request, default 150 ms. */
  prefillMs?: number;
  /**
   * Decode step time with a batch of one (default 10 ms, i.e. 100 tokens/s single-stream). An
   * assumption, not a measurement: it is the value that, with batchSlowdown 0.03, reproduces the
   * vendor's figure for DeepSeek-OCR on one A100-40G (~2,500 output tokens/s at 100 concurrent
   * sequences: 100 ÷ (10 ms × (1 + 0.03 × 99)) = 2,519 tokens/s, ≈ 2.5 pages/s at 1,000 tokens a
   * page, ≈ 218k pages/day). See README "Performance".
   */
  msPerToken?: number;
  /** Step-time growth per extra sequence in the batch (default 0.03: ≈4× slower steps at 100, ≈25× the throughput). */
  batchSlowdown?: number;
  /**
   * Runs the model's clock this many times faster (default 1): prefill and step times are divided
   * by it, so pages/s are multiplied by it and every ratio (batch ÷ single stream, queueing) is
   * unchanged. Benchmarks use it to keep runs short.
   */
  timeScale?: number;
  /** Output tokens of a layout (markdown/ocr) page; the plainer prompts produce half (default 1000). */
  tokensPerPage?: number;
  /** Context length (default 8192, DeepSeek-OCR's). */
  maxModelLen?: number;
  faults?: FaultPlan;
  /**
   * Which model it imitates (profiles.ts): one of the engine's profile names. Unset: each request
   * is answered in the shape of the model its prompt is for (DeepSeek-OCR when nothing says).
   */
  profile?: SimProfile;
  /** `legacy`: errors in older vLLM's top-level shape `{"object": "error", "message": …}`. */
  errorFormat?: 'current' | 'legacy';
  /** `none`: /metrics has no vLLM request counts (an older server or a proxy's own metrics). */
  metrics?: 'vllm' | 'none';
}

export interface VllmSimulatorStats {
  received: number;
  completed: number;
  finished: { stop: number; length: number; abort: number };
  /** Answers by HTTP status, faults included. */
  statuses: Record<string, number>;
  faults: Record<string, number>;
  running: number;
  waiting: number;
  maxRunning: number;
  maxWaiting: number;
  generationTokens: number;
  /** The parsed JSON body of the last chat completion request (so tests can check the protocol). */
  lastRequestBody: unknown;
  /** GET /metrics requests answered. */
  metricsScrapes: number;
  /** Time integrals of waiting/running (exact time-weighted means between two reads). */
  integrals: QueueIntegrals;
}

export interface VllmSimulator {
  url: string;
  port: number;
  close(): Promise<void>;
  stats(): VllmSimulatorStats;
  setFaults(f: FaultPlan): void;
  /** Switches what /metrics shows (an upgraded server, a fixed proxy). */
  setMetrics(mode: 'vllm' | 'none'): void;
}

const MAX_BODY = 64 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
  ) {
    super(message);
  }
}

export async function startVllmSimulator(opts: VllmSimulatorOptions = {}): Promise<VllmSimulator> {
  const model = opts.model ?? 'deepseek-ai/DeepSeek-OCR';
  const maxModelLen = opts.maxModelLen ?? 8192;
  const tokensPerPage = opts.tokensPerPage ?? 1000;
  const maxNumSeqs = opts.maxNumSeqs ?? 100;
  const timeScale = opts.timeScale ?? 1;
  if (!(timeScale > 0)) throw new Error(`timeScale must be > 0, got ${timeScale}`);
  const scheduler = new BatchScheduler({
    maxNumSeqs,
    prefillMs: (opts.prefillMs ?? 150) / timeScale,
    msPerToken: (opts.msPerToken ?? 10) / timeScale,
    batchSlowdown: opts.batchSlowdown ?? 0.03,
    kvCapacityTokens: maxNumSeqs * (1000 + tokensPerPage) * 1.25,
  });
  const faults = new Faults(opts.faults);
  const e2e = new Histogram();
  const queue = new Histogram();
  const counters = {
    received: 0,
    completed: 0,
    finished: { stop: 0, length: 0, abort: 0 },
    statuses: {} as Record<string, number>,
    faults: {} as Record<string, number>,
    promptTokens: 0,
    lastRequestBody: undefined as unknown,
    metricsScrapes: 0,
  };
  let metricsMode = opts.metrics ?? 'vllm';
  let seq = 0;

  const send = (res: ServerResponse, status: number, body: string, type = 'application/json') => {
    counters.statuses[status] = (counters.statuses[status] ?? 0) + 1;
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  // vLLM's error shape (recent versions): {"error": {message, type, param, code}}.
  const sendError = (res: ServerResponse, e: HttpError) =>
    send(
      res,
      e.status,
      JSON.stringify(
        opts.errorFormat === 'legacy'
          ? { object: 'error', message: e.message, type: e.type, param: null, code: e.status }
          : { error: { message: e.message, type: e.type, param: null, code: e.status } },
      ),
    );

  async function chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.received++;
    const raw = await readBody(req);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, 'Invalid JSON body', 'BadRequestError');
    }
    counters.lastRequestBody = body;
    const v = await validate(body);
    if (faults.down) throw new HttpError(500, 'vllm-sim: engine is dead (simulated)', 'InternalServerError');
    if (opts.maxQueued !== undefined && scheduler.waiting >= opts.maxQueued) {
      throw new HttpError(503, 'vllm-sim: waiting queue is full (simulated --max-num-queued-reqs)', 'ServiceUnavailableError');
    }
    const fault = faults.draw();
    if (fault) counters.faults[fault] = (counters.faults[fault] ?? 0) + 1;
    if (fault === '500') throw new HttpError(500, 'vllm-sim: injected engine error', 'InternalServerError');
    if (fault === '503') throw new HttpError(503, 'vllm-sim: injected overload', 'ServiceUnavailableError');
    if (fault === 'hang') return; // never answered; close() drops the socket
    if (fault === 'malformed') {
      counters.statuses[200] = (counters.statuses[200] ?? 0) + 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"chatcmpl-sim-broken","object":"chat.completion","choices":[{"index":0,"message":{"role":"assi');
      return;
    }

    const profile: SimProfile =
      opts.profile ?? detectProfile({ model, prompt: v.text, system: v.system }) ?? (/deepseek/i.test(model) ? 'deepseek-ocr' : 'plain');
    const full = v.task === 'markdown' || v.task === 'ocr' || (profile !== 'deepseek-ocr' && profile !== 'deepseek-ocr-2' && profile !== 'plain');
    const natural = Math.max(1, Math.ceil((full ? tokensPerPage : tokensPerPage / 2) * tokenShare(profile, v.text)));
    // A page chosen to loop: `length` runs into max_tokens, `repeat` says the same line over and over and stops.
    const pageLoop = faults.loopFor(v.image, body);
    const looping = fault === 'length' || pageLoop === 'length' || natural > v.maxTokens;
    const tokens = looping ? v.maxTokens : natural;
    counters.promptTokens += v.promptTokens;
    const job = scheduler.submit(v.promptTokens, tokens);
    // vLLM aborts a request whose client disconnected, freeing its batch slot.
    let answered = false;
    res.on('close', () => {
      if (!answered) {
        job.cancel();
        counters.finished.abort++;
      }
    });
    const timing = await job.done;
    answered = true;
    if (res.destroyed) return;
    e2e.observe(timing.e2eMs / 1000);
    queue.observe(timing.queuedMs / 1000);
    const finish = looping ? 'length' : 'stop';
    counters.completed++;
    counters.finished[finish]++;
    const content =
      pageLoop === 'repeat'
        ? repeatLoop(
            profile === 'plain'
              ? plainAnswer(false, v.image)
              : profile === 'deepseek-ocr'
                ? simulatedText(v.task, v.image)
                : simulatedAnswer(profile, v.text, v.image, false),
          )
        : profile === 'plain'
          ? plainAnswer(looping, v.image)
          : profile === 'deepseek-ocr'
            ? looping
              ? loopingText(v.task, v.image)
              : simulatedText(v.task, v.image)
            : simulatedAnswer(profile, v.text, v.image, looping);
    send(
      res,
      200,
      JSON.stringify({
        id: `chatcmpl-sim-${++seq}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content, reasoning_content: null, tool_calls: [] },
            logprobs: body.logprobs === true ? simulatedLogprobs(content, faults.logprob) : null,
            finish_reason: finish,
            stop_reason: null,
          },
        ],
        usage: { prompt_tokens: v.promptTokens, completion_tokens: tokens, total_tokens: v.promptTokens + tokens },
        prompt_logprobs: null,
      }),
    );
  }

  /** The checks vLLM makes before scheduling, with its status codes and wording. */
  async function validate(
    body: Record<string, unknown>,
  ): Promise<{ task: SimTask; image: ImageFacts; promptTokens: number; maxTokens: number; text: string; system: string }> {
    if (body.model !== model) throw new HttpError(404, `The model \`${String(body.model)}\` does not exist.`, 'NotFoundError');
    if (body.stream === true) throw new HttpError(400, 'vllm-sim does not simulate streaming', 'BadRequestError');
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0) throw new HttpError(400, 'messages: field required', 'BadRequestError');
    let imageUrl: string | undefined;
    let text = '';
    let system = '';
    for (const m of messages as Array<{ role?: unknown; content?: unknown }>) {
      if (m?.role === 'system' && typeof m.content === 'string') system += m.content;
      else if (typeof m?.content === 'string') text += m.content;
      else if (Array.isArray(m?.content)) {
        for (const part of m.content as Array<{ type?: string; text?: string; image_url?: { url?: string } }>) {
          if (part?.type === 'text' && typeof part.text === 'string') text += part.text;
          if (part?.type === 'image_url' && typeof part.image_url?.url === 'string') imageUrl ??= part.image_url.url;
        }
      }
    }
    // A real vLLM would run a text-only request; for an OCR model that is always a client bug.
    if (!imageUrl) throw new HttpError(400, 'vllm-sim: an OCR model request needs an image_url part', 'BadRequestError');
    const image = await loadImage(imageUrl);
    // Text tokens: about 4 characters each, plus the chat template's few.
    // Vision tokens: DeepSeek-OCR's tiling; the other models' Qwen-style encoders one per 28×28 pixels (≤ 14,400).
    const deepseekLike = opts.profile === undefined || opts.profile === 'deepseek-ocr' || opts.profile === 'deepseek-ocr-2';
    const vision = deepseekLike ? imageTokens(image.width, image.height) : Math.min(14_400, Math.ceil(image.width / 28) * Math.ceil(image.height / 28));
    const promptTokens = vision + Math.ceil((text.length + system.length) / 4) + 8;
    const requested = body.max_tokens ?? body.max_completion_tokens;
    if (requested !== undefined && requested !== null && (!Number.isInteger(requested) || (requested as number) < 1)) {
      throw new HttpError(400, 'max_tokens must be at least 1', 'BadRequestError');
    }
    const maxTokens = (requested as number | undefined | null) ?? maxModelLen - promptTokens;
    if (promptTokens + maxTokens > maxModelLen) {
      throw new HttpError(
        400,
        `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${promptTokens + maxTokens} tokens ` +
          `(${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
        'BadRequestError',
      );
    }
    return { task: taskOf(text), image, promptTokens, maxTokens, text, system };
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = `${req.method} ${path}`;
    const run = async () => {
      switch (route) {
        case 'POST /v1/chat/completions':
          return chat(req, res);
        case 'GET /v1/models':
          return send(
            res,
            200,
            JSON.stringify({
              object: 'list',
              data: [{ id: model, object: 'model', created: 0, owned_by: 'vllm-sim', root: model, parent: null, max_model_len: maxModelLen }],
            }),
          );
        case 'GET /health':
          return faults.down ? send(res, 503, '', 'text/plain') : send(res, 200, '', 'text/plain');
        case 'GET /version':
          return send(res, 200, JSON.stringify({ version: 'vllm-sim' }));
        case 'GET /metrics':
          counters.metricsScrapes++;
          if (metricsMode === 'none')
            return send(
              res,
              200,
              '# HELP process_cpu_seconds_total CPU time.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.0\n',
              'text/plain; version=0.0.4',
            );
          return send(
            res,
            200,
            renderMetrics({
              model,
              running: scheduler.running,
              waiting: scheduler.waiting,
              kvCacheUsage: scheduler.kvCacheUsage,
              preemptions: 0,
              finished: counters.finished,
              promptTokens: counters.promptTokens,
              generationTokens: scheduler.generatedTokens,
              e2e,
              queue,
            }),
            'text/plain; version=0.0.4; charset=utf-8',
          );
        default:
          return send(res, 404, JSON.stringify({ detail: 'Not Found' }));
      }
    };
    run().catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      sendError(res, err instanceof HttpError ? err : new HttpError(500, `vllm-sim internal error: ${String(err)}`, 'InternalServerError'));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  // A wildcard bind is reachable on loopback; a URL with 0.0.0.0 in it is not portable.
  const wildcard = addr.address === '0.0.0.0' || addr.address === '::';
  const host = wildcard ? '127.0.0.1' : addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    stats: () => ({
      received: counters.received,
      completed: counters.completed,
      finished: { ...counters.finished },
      statuses: { ...counters.statuses },
      faults: { ...counters.faults },
      running: scheduler.running,
      waiting: scheduler.waiting,
      maxRunning: scheduler.maxRunning,
      maxWaiting: scheduler.maxWaiting,
      generationTokens: scheduler.generatedTokens,
      lastRequestBody: counters.lastRequestBody,
      metricsScrapes: counters.metricsScrapes,
      integrals: scheduler.integrals(),
    }),
    setFaults: (f) => faults.set(f),
    setMetrics: (mode) => {
      metricsMode = mode;
    },
    close: async () => {
      scheduler.close();
      // Hung requests keep their sockets open forever; drop them so close() returns.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loop that ends on its own: the page's first lines, then its last line said again and again (as models do on dense tables). */
function repeatLoop(answer: string): string {
  const lines = answer.trimEnd().split('\n');
  const last = lines.filter((l) => l.trim().length >= 8).at(-1) ?? 'simulated repetition loop';
  return [...lines.slice(0, Math.ceil(lines.length / 2)), ...Array(60).fill(last)].join('\n') + '\n';
}

/** vLLM's `logprobs.content`: the answer cut in 4-character tokens, each with the same log-probability (SIMULATED). */
function simulatedLogprobs(content: string, logprob: number) {
  const out: Array<{ token: string; logprob: number; bytes: number[]; top_logprobs: [] }> = [];
  for (let i = 0; i < content.length; i += 4) {
    const token = content.slice(i, i + 4);
    out.push({ token, logprob, bytes: [...Buffer.from(token)], top_logprobs: [] });
  }
  return { content: out };
}

function plainAnswer(looping: boolean, image: ImageFacts): string {
  const text = simulatedPlainText(image);
  return looping ? text + 'simulated repetition loop\n'.repeat(40) : text;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'Request body too large', 'BadRequestError'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function loadImage(url: string): Promise<ImageFacts> {
  let bytes: Buffer;
  try {
    if (url.startsWith('data:')) {
      const comma = url.indexOf(',');
      if (comma < 0 || !url.slice(0, comma).endsWith(';base64')) throw new Error('not a base64 data URL');
      bytes = Buffer.from(url.slice(comma + 1), 'base64');
    } else if (/^https?:\/\//.test(url)) {
      const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      bytes = Buffer.from(await r.arrayBuffer());
    } else {
      throw new Error('unsupported URL scheme');
    }
    const meta = await sharp(bytes).metadata();
    if (!meta.width || !meta.height) throw new Error('no image size');
    return { width: meta.width, height: meta.height, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  } catch (err) {
    throw new HttpError(400, `Failed to load image: ${err instanceof Error ? err.message : String(err)}`, 'BadRequestError');
  }
}
