import { z } from 'zod';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { ApiKeyError, ApiKeyring, parseApiKeysEnv, parseApiKeysFile, type ApiKey } from './api-keys.ts';
import { natsAuthSchema, natsAuthSettings } from './nats-auth.ts';
import { isCidr } from './cidr.ts';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => ['true', '1', 'yes'].includes(v));
const list = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );

/**
 * "tenant=url,…" → tenant → URL, split on the first "=" (URLs may hold "="). A malformed entry is
 * an error naming it, not a default that silently never applies.
 */
const tenantUrls = list.transform((entries, ctx) => {
  const urls = new Map<string, string>();
  for (const entry of entries) {
    const at = entry.indexOf('=');
    const tenant = entry.slice(0, Math.max(0, at)).trim();
    const url = entry.slice(at + 1).trim();
    if (at < 0 || !tenant || !url) ctx.addIssue({ code: 'custom', message: `"${entry}" is not tenant=url (e.g. acme=https://hooks.example.com/folio)` });
    else if (urls.has(tenant)) ctx.addIssue({ code: 'custom', message: `tenant "${tenant}" is given twice` });
    else urls.set(tenant, url);
  }
  return urls as ReadonlyMap<string, string>;
});

// --- Security at the HTTP edge (API keys, exposure, quotas, edge caps): issue 7 ---
const edgeSchema = {
  /** "tenantA=key1,tenantB=key2" (split on the first "="; keys may contain "="). Unset with no file: open, tenant "default". */
  FOLIO_API_KEYS: z.string().optional(),
  /** A file of "tenant=key" lines (# comments), e.g. a mounted secret. */
  FOLIO_API_KEYS_FILE: z.string().optional(),
  /** Without keys, ingest listens on loopback only; this lets it listen on the network open to anyone. */
  FOLIO_ALLOW_UNAUTHENTICATED_NETWORK: bool(false),
  /** Per tenant, across all ingest replicas; 0 = no limit. */
  FOLIO_QUOTA_PAGES_PER_DAY: int(0),
  /** Jobs a tenant may have running at once, across all ingest replicas. */
  FOLIO_QUOTA_CONCURRENT_JOBS: int(100),
  /** Pages a tenant may have queued or in work at once. */
  FOLIO_QUOTA_PAGES_IN_FLIGHT: int(10_000),
  /** Per tenant and ingest replica: uploads being received, sync calls waiting, SSE streams open. */
  FOLIO_MAX_UPLOADS_PER_TENANT: int(8, 1),
  /** Synchronous calls waiting at once, per tenant and ingest replica. */
  FOLIO_MAX_SYNC_WAITS_PER_TENANT: int(32, 1),
  /** Event streams (SSE) open at once, per tenant and ingest replica. */
  FOLIO_MAX_STREAMS_PER_TENANT: int(32, 1),
  /** Per ingest replica, all tenants together: uploads being received and sync calls waiting at once. Past it, 503 FOLIO_OVERLOADED with Retry-After (load shedding: many tenants at once cannot exhaust one replica's sockets, memory and disk). */
  FOLIO_MAX_UPLOADS: int(64, 1),
  FOLIO_MAX_SYNC_WAITS: int(256, 1),
  /** The whole request (headers and body) must arrive within this; the body may not stall longer than the idle timeout. */
  FOLIO_HTTP_REQUEST_TIMEOUT_MS: int(600_000, 1000),
  /** A request body may not stall longer than this. */
  FOLIO_HTTP_BODY_IDLE_TIMEOUT_MS: int(30_000, 100),
  /** A body refused before it was read (429, 503, …) is read and discarded up to this size and time, so the client sees the answer; past either the connection is cut (0 bytes: always cut). */
  FOLIO_HTTP_REFUSAL_DRAIN_BYTES: int(8 * 1024 * 1024),
  FOLIO_HTTP_REFUSAL_DRAIN_MS: int(30_000, 100),
};

function edgeSettings(c: { FOLIO_API_KEYS?: string; FOLIO_API_KEYS_FILE?: string; FOLIO_HTTP_HOST?: string }, ctx: z.RefinementCtx) {
  let keys: ApiKey[] = [];
  try {
    if (c.FOLIO_API_KEYS && c.FOLIO_API_KEYS_FILE) throw new ApiKeyError('set FOLIO_API_KEYS or FOLIO_API_KEYS_FILE, not both');
    if (c.FOLIO_API_KEYS) keys = parseApiKeysEnv(c.FOLIO_API_KEYS);
    if (c.FOLIO_API_KEYS_FILE) {
      let text: string;
      try {
        text = readFileSync(c.FOLIO_API_KEYS_FILE, 'utf8');
      } catch (err) {
        throw new ApiKeyError(`cannot read ${c.FOLIO_API_KEYS_FILE}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      keys = parseApiKeysFile(text, c.FOLIO_API_KEYS_FILE);
      if (keys.length === 0) throw new ApiKeyError(`${c.FOLIO_API_KEYS_FILE} holds no key (an empty secret would leave Folio open)`);
    }
  } catch (err) {
    if (!(err instanceof ApiKeyError)) throw err;
    ctx.addIssue({ code: 'custom', path: [c.FOLIO_API_KEYS_FILE ? 'FOLIO_API_KEYS_FILE' : 'FOLIO_API_KEYS'], message: err.message });
  }
  const apiKeys = new ApiKeyring(keys);
  return {
    apiKeys,
    // The raw keys do not stay in the config object, which may be logged or dumped.
    FOLIO_API_KEYS: c.FOLIO_API_KEYS ? '[redacted]' : undefined,
    FOLIO_HTTP_HOST: c.FOLIO_HTTP_HOST ?? (apiKeys.size > 0 ? '0.0.0.0' : '127.0.0.1'),
  };
}
// --- end of the HTTP edge block ---

/**
 * Every setting Folio reads, from the environment, validated once at start-up.
 * Nothing else in the codebase reads process.env.
 */
const settingsShape = {
  /** The NATS server(s) to join, e.g. nats://nats:4222. Unset: `npm start` runs its own nats-server (one-machine mode); a service run alone requires it. */
  NATS_URL: z.string().optional(),
  /** The nats-server binary one-machine mode starts. */
  NATS_SERVER_BIN: z.string().default('nats-server'),
  /** One-machine mode (no NATS_URL): the port of the nats-server that `npm start` runs. */
  FOLIO_LOCAL_NATS_PORT: int(4223, 1),
  /** One-machine mode's JetStream store directory. */
  FOLIO_DATA_DIR: z.string().default('.data'),
  /** Unset: 127.0.0.1 without API keys (open means local only), 0.0.0.0 with keys. */
  FOLIO_HTTP_HOST: z.string().optional(),
  /** The HTTP port of ingest (the API, the viewer, /metrics). */
  FOLIO_HTTP_PORT: int(8080),
  /** JSON logs (pino) at this level and above. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  /** An S3/MinIO endpoint for page images and results; unset: the JetStream object store. */

  S3_ENDPOINT: z.url().optional(),
  /** S3 credentials, bucket and region (with S3_ENDPOINT). */
  S3_ACCESS_KEY: z.string().default('minioadmin'),
  S3_SECRET_KEY: z.string().default('minioadmin'),
  S3_BUCKET: z.string().default('folio'),
  S3_REGION: z.string().default('us-east-1'),

  /** Largest upload or fetched document (bytes): past it, 413. */

  FOLIO_MAX_UPLOAD_BYTES: int(100 * 1024 * 1024, 1),
  /** Most pages in one document: past it, 413 at upload (checked again at render). */
  FOLIO_MAX_PAGES: int(1000, 1),
  /** Most pixels in one input image or rendered page (decompression bombs are refused). */
  FOLIO_MAX_INPUT_PIXELS: int(100_000_000, 1),
  /** Page images are rendered with at most this long side (px) for OCR. */
  FOLIO_MAX_LONG_SIDE: int(2000, 256),
  /** How long jobs, results, page images and events are kept. */
  FOLIO_RESULT_TTL_S: int(7 * 24 * 3600, 60),
  /** How long a synchronous call (`?wait=…`, compat routes) waits before answering 202 with the job. */
  FOLIO_SYNC_TIMEOUT_MS: int(60_000, 0),
  /** Upload spool and renderer scratch space. */
  FOLIO_TMP_DIR: z.string().default(os.tmpdir()),

  /** Requests per tenant per window (0 = no rate limit). */

  FOLIO_RATE_LIMIT_MAX: int(120, 0),
  /** The rate limit window (seconds). */
  FOLIO_RATE_LIMIT_WINDOW_S: int(60, 1),
  /** Take the client address from X-Forwarded-For (behind a trusted proxy only). */
  FOLIO_TRUST_PROXY: bool(false),

  /** The default engine: `vllm` when VLLM_BASE_URLS is set, else `cpu`. */

  FOLIO_ENGINE: z.enum(['cpu', 'vllm']).optional(),
  /** OpenAI-compatible vLLM backends, comma-separated. */
  VLLM_BASE_URLS: list,
  /** The served model name (default for every backend). */
  VLLM_MODEL: z.string().default('deepseek-ai/DeepSeek-OCR'),
  /** The key sent to the vLLM backends. */
  VLLM_API_KEY: z.string().default('EMPTY'),
  /** Most tokens generated per page (prompt plus this must fit the model context). */
  VLLM_MAX_TOKENS: int(6000, 16),
  /** Deadline of one page request to a backend. */
  VLLM_TIMEOUT_MS: int(180_000, 100),
  // --- Model profiles per vLLM backend (issue 9) ---
  /** The model each backend runs (docs/models.md; `plain`: another vision model answering Markdown): one for all backends, or one per VLLM_BASE_URLS entry. */
  VLLM_PROFILES: list.pipe(
    z.array(z.enum(['deepseek-ocr', 'deepseek-ocr-2', 'dots-ocr', 'olmocr-2', 'chandra', 'nanonets-ocr2', 'paddleocr-vl', 'mineru-2.5', 'plain'])),
  ),
  /** Served model names per backend (one for all, or one per URL); default VLLM_MODEL. */
  VLLM_MODELS: list,
  // --- end model profiles ---
  /** Upper bound of each backend's adaptive concurrency window. */
  FOLIO_OCR_MAX_WINDOW: int(32, 1),
  /** Lower bound of each backend's adaptive concurrency window. */
  FOLIO_OCR_MIN_WINDOW: int(1, 1),
  /** The CPU engine's recogniser in 8 bits (faster); false on CPUs without AVX512-VNNI if it reads worse there. */
  FOLIO_CPU_INT8: bool(true),
  /** The CPU engine's worker threads (default: the machine's cores). */
  FOLIO_CPU_WORKERS: int(Math.max(1, os.availableParallelism?.() ?? os.cpus().length), 1),
  /** A CPU worker is retired (between pages) and replaced after this many pages; 0 = never. */
  FOLIO_CPU_RECYCLE_PAGES: int(500),
  /** A CPU worker is retired and replaced when the OCR process's RSS after a page is above this (MB); 0 = no ceiling. */
  FOLIO_CPU_RECYCLE_RSS_MB: int(0),

  /** Short, with heartbeats every third of it: a killed worker's message comes back within seconds. */
  FOLIO_ACK_WAIT_MS: int(10_000, 1000),
  /** Attempts per message, counted by JetStream before each delivery: past it the page (or job) fails with a code. */
  FOLIO_MAX_DELIVER: int(5, 1),
  /** First retry delay; each further attempt waits 3× longer (capped at a minute): 2, 6, 18, 54 s by default. */
  FOLIO_RETRY_BASE_MS: int(2000, 10),
  /** Pages in flight per consumer across replicas. */
  FOLIO_MAX_ACK_PENDING: int(256, 1),
  /** Documents rendered at once per rasterizer. */
  FOLIO_RASTER_CONCURRENCY: int(1, 1),
  /** A service running alone serves /metrics on this port (0 = off); ingest serves it on its HTTP port. */
  FOLIO_METRICS_PORT: int(0, 0),

  // --- Cluster and never-stuck jobs ---
  /** Replicas of every stream, KV bucket and object store: 1 on one machine, 3 on a 3-node cluster. */
  FOLIO_REPLICAS: z.coerce
    .number()
    .int()
    .refine((n) => [1, 3, 5].includes(n), 'must be 1, 3 or 5')
    .default(1),
  /** Streams drop a repeated message id for this long; longer than any redelivered handler's republish. */
  FOLIO_DUPLICATE_WINDOW_S: int(600, 10),
  /** False when this service's NATS user may not create streams: it waits for them instead. */
  FOLIO_NATS_MANAGE: bool(true),
  /** A job with no progress and no work waiting in any stream for this long is ended by the sweeper. */
  FOLIO_STUCK_AFTER_S: int(600, 1),
  /** A rasterizer or assembler step (one page rendered, one result recorded) with no progress for this long is abandoned and retried. */
  FOLIO_STEP_TIMEOUT_MS: int(300_000, 1000),
  /** Deadline of one object-store call (an upload of the largest file included). */
  FOLIO_BLOB_TIMEOUT_MS: int(120_000, 100),
  /** How often the assembler removes objects of jobs that no longer exist (expired, deleted mid-flight); 0 = never. */
  FOLIO_ORPHAN_SWEEP_INTERVAL_S: int(3600, 0),
  /** How often the sweeper (in the assembler) looks for stuck jobs; 0 = never. */
  FOLIO_SWEEP_INTERVAL_S: int(60, 0),
  /** Test-only fault injection, "<stage>:<page>:<fault>" (e.g. "ocr:3:exit"): never set in production. */
  FOLIO_TEST_FAULT: z
    .string()
    .regex(/^(rasterizer|ocr|assembler):\d+:(exit|hang)$/)
    .optional(),
  // --- Sandboxed rendering (issue 6): pdf.js and image decoding in child processes ---
  /** Deadline for opening a document (ingest's probe, the rasterizer's open); past it the renderer is killed. */
  FOLIO_RENDER_OPEN_TIMEOUT_MS: int(60_000, 100),
  /** Deadline for rendering one page; past it the renderer is killed and the page fails (FOLIO_RENDER_TIMEOUT). */
  FOLIO_RENDER_PAGE_TIMEOUT_MS: int(60_000, 100),
  /** Memory cap of one renderer process (V8 heap limit and resident size); past it the page fails (FOLIO_RENDER_CRASHED). */
  FOLIO_RENDER_MEMORY_MB: int(2048, 128),
  /** Renderer processes ingest keeps for probing uploads (started on demand). */
  FOLIO_PROBE_WORKERS: int(2, 1),
  // --- end sandboxed rendering ---
  // --- Operations: consumer lag, tracing (issue 11) ---
  /** How often each service reads its consumers' pending and ack-pending counts for /metrics (JetStream info; not on the hot path). */
  FOLIO_LAG_INTERVAL_MS: int(5000, 100),
  /** OTLP/HTTP collector (JSON): traces go to <endpoint>/v1/traces. Unset (and no traces endpoint): tracing is off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  /** The full traces URL, when it is not <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  /** Fraction of new traces (uploads) recorded, 0..1; a message that arrives sampled stays sampled. */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  // --- end operations ---
  // --- Webhooks (issue 10): signed callbacks from a durable consumer on FOLIO_JOB_EVENTS ---
  /** Master secret (16+ chars); each tenant signs with whsec_ + HMAC(master, tenant), given by GET /v1/webhook-secret. Unset: webhooks off. */
  FOLIO_WEBHOOK_SECRET: z.string().min(16).optional(),
  /** Per-tenant default callback URLs, "tenant=url,…" (a job's own `webhook` field wins); a malformed entry or a tenant named twice refuses to start. */
  FOLIO_WEBHOOK_DEFAULTS: tenantUrls,
  /** Attempts per delivery; backoff 1, 2, 4 … s (×2, capped at FOLIO_WEBHOOK_MAX_BACKOFF_MS). */
  FOLIO_WEBHOOK_MAX_ATTEMPTS: int(8, 1),
  /** First webhook retry delay (doubles each attempt). */
  FOLIO_WEBHOOK_BASE_BACKOFF_MS: int(1000, 10),
  /** Longest webhook retry delay. */
  FOLIO_WEBHOOK_MAX_BACKOFF_MS: int(300_000, 10),
  /** Deadline of one webhook delivery. */
  FOLIO_WEBHOOK_TIMEOUT_MS: int(10_000, 100),
  /** Let webhooks reach private, loopback and link-local addresses (refused by default, checked after DNS resolution). */
  FOLIO_WEBHOOK_ALLOW_PRIVATE: bool(false),
  /** Read by the `folio` CLI (server URL and key); the services ignore them, and accept them in their environment. */
  FOLIO_URL: z.string().optional(),
  FOLIO_API_KEY: z.string().optional(),
  // --- end webhooks ---
  // --- Inputs (issue 10): several files per request, URLs to fetch, Office documents ---
  /** Files (or URLs) in one POST /v1/jobs; each becomes its own job under one batch id. */
  FOLIO_MAX_FILES_PER_REQUEST: int(20, 1),
  /** Deadline of one URL fetch (connect, redirects and the whole body). */
  FOLIO_FETCH_TIMEOUT_MS: int(60_000, 100),
  /** Redirects followed per fetch, each re-checked against the address rules. */
  FOLIO_FETCH_MAX_REDIRECTS: int(5, 0),
  /** Let URL fetches reach private, loopback and link-local addresses (tests, intranets). */
  FOLIO_FETCH_ALLOW_PRIVATE: bool(false),
  /** Addresses or CIDRs URL fetches may reach even though they are private ("10.20.0.0/16,fd00::/8"). */
  FOLIO_FETCH_ALLOW_CIDRS: list.refine((a) => a.every(isCidr), 'must be a comma-separated list of addresses or CIDRs, e.g. 10.20.0.0/16,fd00::/8'),
  /** LibreOffice's command for Office documents (docx, pptx, xlsx, odt, odp, ods → PDF); not found: such files are a 415. */
  FOLIO_SOFFICE_BIN: z.string().default('soffice'),
  /** Deadline of one conversion; past it soffice is killed and the file refused (FOLIO_CONVERSION_FAILED). */
  FOLIO_OFFICE_TIMEOUT_MS: int(120_000, 1000),
  /** Conversions at once per ingest replica (~300 MB of memory each). */
  FOLIO_OFFICE_CONCURRENCY: int(2, 1),
  // --- end inputs ---
  ...edgeSchema,
  // --- NATS credentials (user + password, password file, creds or nkey file; shared/config/nats-auth.ts): issue 7 ---
  ...natsAuthSchema,
};

export const ConfigSchema = z.object(settingsShape).transform((c, ctx) => toOptions(c, { ...edgeSettings(c, ctx), ...natsAuthSettings(c, ctx) }));

type Settings = z.output<z.ZodObject<typeof settingsShape>>;

/**
 * The settings grouped per component, camelCase: each service reads its own group (and the shared
 * ones: nats, jetstream, blobs, limits, render); no code outside this module knows an environment name.
 */
function toOptions(c: Settings, derived: ReturnType<typeof edgeSettings> & ReturnType<typeof natsAuthSettings>) {
  return {
    logLevel: c.LOG_LEVEL,
    /** 0 = off; a service running alone serves /metrics (and /readyz) on this port. */
    metricsPort: c.FOLIO_METRICS_PORT,
    dataDir: c.FOLIO_DATA_DIR,
    tmpDir: c.FOLIO_TMP_DIR,
    /** Test-only fault injection; never set in production. */
    testFault: c.FOLIO_TEST_FAULT,
    nats: {
      url: c.NATS_URL,
      serverBin: c.NATS_SERVER_BIN,
      localPort: c.FOLIO_LOCAL_NATS_PORT,
      /** False when this service's NATS user may not create streams: it waits for them instead. */
      manage: c.FOLIO_NATS_MANAGE,
      auth: derived.nats,
      /** Whether a password was given (the password itself stays in `auth`, never in a dump). */
      password: derived.NATS_PASSWORD,
    },
    jetstream: {
      replicas: c.FOLIO_REPLICAS,
      duplicateWindowS: c.FOLIO_DUPLICATE_WINDOW_S,
      resultTtlS: c.FOLIO_RESULT_TTL_S,
      ackWaitMs: c.FOLIO_ACK_WAIT_MS,
      maxDeliver: c.FOLIO_MAX_DELIVER,
      retryBaseMs: c.FOLIO_RETRY_BASE_MS,
      maxAckPending: c.FOLIO_MAX_ACK_PENDING,
      stepTimeoutMs: c.FOLIO_STEP_TIMEOUT_MS,
      lagIntervalMs: c.FOLIO_LAG_INTERVAL_MS,
    },
    blobs: {
      s3: c.S3_ENDPOINT
        ? { endpoint: c.S3_ENDPOINT, accessKey: c.S3_ACCESS_KEY, secretKey: c.S3_SECRET_KEY, bucket: c.S3_BUCKET, region: c.S3_REGION }
        : undefined,
      timeoutMs: c.FOLIO_BLOB_TIMEOUT_MS,
    },
    tracing: { tracesUrl: otlpTracesUrl(c), sampleRatio: c.OTEL_TRACES_SAMPLER_ARG },
    /** Limits on a document, checked by ingest (at upload) and by the rasterizer (at render). */
    limits: {
      maxUploadBytes: c.FOLIO_MAX_UPLOAD_BYTES,
      maxPages: c.FOLIO_MAX_PAGES,
      maxInputPixels: c.FOLIO_MAX_INPUT_PIXELS,
      maxLongSide: c.FOLIO_MAX_LONG_SIDE,
    },
    /** Sandboxed rendering (ingest's probe, the rasterizer's pages). */
    render: {
      openTimeoutMs: c.FOLIO_RENDER_OPEN_TIMEOUT_MS,
      pageTimeoutMs: c.FOLIO_RENDER_PAGE_TIMEOUT_MS,
      memoryMb: c.FOLIO_RENDER_MEMORY_MB,
      probeWorkers: c.FOLIO_PROBE_WORKERS,
    },
    ingest: {
      host: derived.FOLIO_HTTP_HOST,
      port: c.FOLIO_HTTP_PORT,
      apiKeys: derived.apiKeys,
      /** Whether keys were given (the keys themselves stay in `apiKeys`, never in a dump). */
      apiKeysSet: derived.FOLIO_API_KEYS,
      allowUnauthenticatedNetwork: c.FOLIO_ALLOW_UNAUTHENTICATED_NETWORK,
      trustProxy: c.FOLIO_TRUST_PROXY,
      requestTimeoutMs: c.FOLIO_HTTP_REQUEST_TIMEOUT_MS,
      bodyIdleTimeoutMs: c.FOLIO_HTTP_BODY_IDLE_TIMEOUT_MS,
      refusalDrainBytes: c.FOLIO_HTTP_REFUSAL_DRAIN_BYTES,
      refusalDrainMs: c.FOLIO_HTTP_REFUSAL_DRAIN_MS,
      syncTimeoutMs: c.FOLIO_SYNC_TIMEOUT_MS,
      maxFilesPerRequest: c.FOLIO_MAX_FILES_PER_REQUEST,
      rateLimit: { max: c.FOLIO_RATE_LIMIT_MAX, windowS: c.FOLIO_RATE_LIMIT_WINDOW_S },
      quota: { pagesPerDay: c.FOLIO_QUOTA_PAGES_PER_DAY, concurrentJobs: c.FOLIO_QUOTA_CONCURRENT_JOBS, pagesInFlight: c.FOLIO_QUOTA_PAGES_IN_FLIGHT },
      perTenant: { uploads: c.FOLIO_MAX_UPLOADS_PER_TENANT, syncWaits: c.FOLIO_MAX_SYNC_WAITS_PER_TENANT, streams: c.FOLIO_MAX_STREAMS_PER_TENANT },
      perReplica: { uploads: c.FOLIO_MAX_UPLOADS, syncWaits: c.FOLIO_MAX_SYNC_WAITS },
      fetch: {
        timeoutMs: c.FOLIO_FETCH_TIMEOUT_MS,
        maxRedirects: c.FOLIO_FETCH_MAX_REDIRECTS,
        allowPrivate: c.FOLIO_FETCH_ALLOW_PRIVATE,
        allowCidrs: c.FOLIO_FETCH_ALLOW_CIDRS,
      },
      office: { bin: c.FOLIO_SOFFICE_BIN, timeoutMs: c.FOLIO_OFFICE_TIMEOUT_MS, concurrency: c.FOLIO_OFFICE_CONCURRENCY },
      webhooks: {
        secret: c.FOLIO_WEBHOOK_SECRET,
        defaults: c.FOLIO_WEBHOOK_DEFAULTS,
        maxAttempts: c.FOLIO_WEBHOOK_MAX_ATTEMPTS,
        baseBackoffMs: c.FOLIO_WEBHOOK_BASE_BACKOFF_MS,
        maxBackoffMs: c.FOLIO_WEBHOOK_MAX_BACKOFF_MS,
        timeoutMs: c.FOLIO_WEBHOOK_TIMEOUT_MS,
        allowPrivate: c.FOLIO_WEBHOOK_ALLOW_PRIVATE,
      },
    },
    rasterizer: { concurrency: c.FOLIO_RASTER_CONCURRENCY },
    ocr: {
      /** vLLM when a backend is configured, else the embedded CPU engine. */
      engine: c.FOLIO_ENGINE ?? (c.VLLM_BASE_URLS.length > 0 ? ('vllm' as const) : ('cpu' as const)),
      maxWindow: c.FOLIO_OCR_MAX_WINDOW,
      minWindow: c.FOLIO_OCR_MIN_WINDOW,
      vllm: {
        baseUrls: c.VLLM_BASE_URLS,
        model: c.VLLM_MODEL,
        apiKey: c.VLLM_API_KEY,
        maxTokens: c.VLLM_MAX_TOKENS,
        timeoutMs: c.VLLM_TIMEOUT_MS,
        profiles: c.VLLM_PROFILES,
        models: c.VLLM_MODELS,
      },
      cpu: { int8: c.FOLIO_CPU_INT8, workers: c.FOLIO_CPU_WORKERS, recyclePages: c.FOLIO_CPU_RECYCLE_PAGES, recycleRssMb: c.FOLIO_CPU_RECYCLE_RSS_MB },
    },
    assembler: { stuckAfterS: c.FOLIO_STUCK_AFTER_S, sweepIntervalS: c.FOLIO_SWEEP_INTERVAL_S, orphanSweepIntervalS: c.FOLIO_ORPHAN_SWEEP_INTERVAL_S },
  };
}

/** OTLP/HTTP: the traces URL, from the standard OpenTelemetry variables. */
function otlpTracesUrl(c: { OTEL_EXPORTER_OTLP_ENDPOINT?: string; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string }): string | undefined {
  if (c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (c.OTEL_EXPORTER_OTLP_ENDPOINT) return `${c.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

export type Config = z.infer<typeof ConfigSchema>;
export type IngestOptions = Config['ingest'];
export type OcrOptions = Config['ocr'];
export type RasterizerOptions = Config['rasterizer'];
export type AssemblerOptions = Config['assembler'];
export type JetStreamOptions = Config['jetstream'];
export type NatsOptions = Config['nats'];
export type BlobOptions = Config['blobs'];

/**
 * The environment names an operator sets, for messages that say what to set: the names are spelled
 * here only, so renaming a setting is one edit.
 */
export const settingNames = {
  natsUrl: 'NATS_URL',
  apiKeys: 'FOLIO_API_KEYS',
  maxFilesPerRequest: 'FOLIO_MAX_FILES_PER_REQUEST',
  rateLimitMax: 'FOLIO_RATE_LIMIT_MAX',
  webhookSecret: 'FOLIO_WEBHOOK_SECRET',
  vllmBaseUrls: 'VLLM_BASE_URLS',
  vllmModel: 'VLLM_MODEL',
  vllmModels: 'VLLM_MODELS',
} as const satisfies Record<string, keyof typeof settingsShape>;

/** A service run alone needs NATS_URL (one-machine mode starts its own nats-server); one line, not a stack trace. */
export function requireNatsUrl(config: Config, service: string): string {
  if (config.nats.url) return config.nats.url;
  throw new ConfigError(`${settingNames.natsUrl} is required when the ${service} runs alone (npm start runs everything with a local nats-server)`);
}

export class ConfigError extends Error {}

const KNOWN = new Set(Object.keys(ConfigSchema.in.shape));

/** loadConfig for a process's start: a bad setting is one line on stderr and exit code 2, not a stack trace. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`folio: ${err.message}\n`);
    process.exit(2);
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  // A mistyped FOLIO_ setting must not be silently ignored.
  const unknown = Object.keys(env).filter((k) => k.startsWith('FOLIO_') && !KNOWN.has(k));
  if (unknown.length > 0) throw new ConfigError(`Unknown setting(s): ${unknown.join(', ')} (see docs/configuration.md)`);
  const picked = Object.fromEntries(Object.entries(env).filter(([k, v]) => KNOWN.has(k) && v !== undefined && v !== ''));
  const parsed = ConfigSchema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new ConfigError(`Invalid configuration:\n${lines}`);
  }
  return deepFreeze(parsed.data);
}

/** Options are read-only all the way down (class instances such as the keyring keep their own rules). */
function deepFreeze<T>(o: T): Readonly<T> {
  for (const v of Object.values(o as object)) if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) deepFreeze(v);
  return Object.freeze(o);
}
