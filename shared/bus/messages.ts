import { z } from 'zod';
import { Priority } from './subjects.ts';
import { parsePageRange } from './page-range.ts';

/** Engines a request may ask for. `auto` = the deployment's default; `text-layer` is never asked for, only reported. */
export const EngineName = z.enum(['auto', 'cpu', 'vllm']);
export type EngineName = z.infer<typeof EngineName>;

/** DeepSeek-OCR's task prompts (see docs/deepseek-ocr.md); other engines map them as best they can. */
export const TaskMode = z.enum(['markdown', 'ocr', 'free', 'figure', 'describe']);
export type TaskMode = z.infer<typeof TaskMode>;

const intFromForm = (min: number, max: number) =>
  z
    .union([z.number(), z.string().regex(/^\d+$/, 'must be an integer')])
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** Options as sent by clients (multipart fields or query strings): strings are accepted and coerced. */
export const JobOptions = z
  .object({
    pages: z
      .string()
      .max(200)
      .refine((s) => parsePageRange(s) !== null, 'must look like "1-3,5,8-"')
      .optional(),
    dpi: intFromForm(72, 300).default(144),
    task: TaskMode.default('markdown'),
    priority: z.enum(Priority).optional(),
    engine: EngineName.default('auto'),
    /** Use a PDF page's own text layer when it is usable (born-digital pages), instead of OCR. */
    textLayer: z.enum(['auto', 'never']).default('auto'),
    /** Page separator in document.md; `deepseek` = the model's own `<--- Page Split --->` line. */
    separator: z.enum(['rule', 'deepseek', 'none']).default('rule'),
    /** Running headers, footers, page numbers and margin notes: typed in document.json either way; `drop` leaves them out of the Markdown (as docling does). */
    furniture: z
      .enum(['drop', 'keep'])
      .default('drop')
      .describe(
        'Page furniture (running headers and footers, page numbers, margin notes): always typed in document.json blocks; `drop` (default) leaves it out of the Markdown, `keep` writes it there',
      ),
    /** `use`: an identical earlier upload (same bytes and options) answers at once; `bypass`: OCR again. */
    cache: z.enum(['use', 'bypass']).default('use'),
    /**
     * Script the pages are written in, for the CPU engine's recogniser (its dictionary mixes Latin
     * and Chinese): `en` reads Latin script only, `zh` the whole dictionary, `auto` (or absent)
     * judges each page by its confidently read characters.
     */
    lang: z.enum(['auto', 'en', 'zh']).optional(),
    /**
     * Issue 18: engines to read a page with, in order, when the one before fails it, loops or
     * truncates (`vllm,cpu`); absent: only the chosen engine.
     */
    fallback: z
      .union([z.string(), z.array(z.string())])
      .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
      .pipe(
        z
          .array(z.enum(['cpu', 'vllm']))
          .min(1)
          .max(2),
      )
      .optional()
      .describe('Engines to read a page with, in order, when the one before fails it, loops or truncates, e.g. `vllm,cpu`'),
    /** Issue 18: `quality` writes each page's quality signals as YAML front matter at the top of document.md. */
    frontMatter: z
      .enum(['none', 'quality'])
      .optional()
      .describe("`quality`: document.md starts with YAML front matter giving each page's confidence, repetition, truncation and suspect flag"),
  })
  .strict();
export type JobOptions = z.infer<typeof JobOptions>;

export const JobState = z.enum(['queued', 'rasterizing', 'ocr', 'assembling', 'completed', 'partial', 'failed', 'cancelled']);
export type JobState = z.infer<typeof JobState>;
export const TerminalStates: readonly JobState[] = ['completed', 'partial', 'failed', 'cancelled'];
export const isTerminal = (s: JobState) => TerminalStates.includes(s);

export const ErrorInfo = z.object({ code: z.string(), message: z.string() });
export type ErrorInfo = z.infer<typeof ErrorInfo>;

export const SourceInfo = z.object({
  name: z.string(),
  mediaType: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
  pageCount: z.number().int().positive().optional(),
  /**
   * Issue 10: an Office document converted to PDF on arrival: what the client sent. `mediaType`
   * and `bytes` above are then the PDF's; `sha256` stays that of the client's bytes (the cache key).
   */
  convertedFrom: z.object({ format: z.string(), mediaType: z.string(), bytes: z.number().int().nonnegative() }).optional(),
  /** Issue 10: the URL the document was fetched from (after redirects, without its query string), when it came by URL. */
  url: z.string().optional(),
});
export type SourceInfo = z.infer<typeof SourceInfo>;

/** Issue 18: a page's quality signals (document.json, job status, front matter). */
export const PageQuality = z.object({
  /** 0–1: geometric mean of token probabilities (vision models), or the blocks' recogniser confidence (CPU). */
  confidence: z.number().min(0).max(1).optional(),
  /** The least likely token's probability, when the server returned log-probabilities. */
  minTokenConfidence: z.number().min(0).max(1).optional(),
  /** 0–1: share of the text that repeats what came before (a generation loop scores near 1). */
  repetition: z.number().min(0).max(1),
  /** The answer ran into max_tokens (the page was kept only through a lighter prompt). */
  truncated: z.boolean(),
  /** Characters of text read (whitespace aside). */
  chars: z.number().int().nonnegative(),
  /** Share of dark pixels outside figures. */
  ink: z.number().min(0).max(1),
  suspect: z.boolean(),
  /** Why the page is suspect: looping, truncated, little-text (much ink, little text), low-confidence. */
  reasons: z.array(z.string()),
});
export type PageQuality = z.infer<typeof PageQuality>;

/** Issue 18: one try at reading a page, as the page record tells it (which engine, how it ended, why the next one ran). */
export const PageAttempt = z.object({
  engine: z.string(),
  /** `ok`: this answer was kept; otherwise why it was not (looping, truncated, or an error code). */
  outcome: z.string(),
  /** What was changed for this try: `loop-mitigation` (the profile's official retry settings). */
  mitigation: z.string().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
});
export type PageAttempt = z.infer<typeof PageAttempt>;

export const PageSummary = z.object({
  page: z.number().int().positive(),
  status: z.enum(['done', 'failed']),
  engine: z.string().optional(),
  error: ErrorInfo.optional(),
  /** Issue 18: confidence, suspect flag and reasons of the kept answer; each try when there was more than one. */
  quality: z
    .object({ confidence: z.number().optional(), repetition: z.number(), truncated: z.boolean(), suspect: z.boolean(), reasons: z.array(z.string()) })
    .optional(),
  attempts: z.array(PageAttempt).optional(),
});
export type PageSummary = z.infer<typeof PageSummary>;

// --- Webhooks and batches (issue 10): what a job's status records about them ---
/** One delivery attempt of a job's webhook, as the job status shows it. */
export const WebhookDelivery = z.object({
  event: z.string(),
  attempt: z.number().int().positive(),
  at: z.string(),
  outcome: z.enum(['delivered', 'failed', 'refused']),
  httpStatus: z.number().int().optional(),
  error: z.string().optional(),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;
export const JobWebhook = z.object({ url: z.string(), deliveries: z.array(WebhookDelivery).default([]) });
// --- end webhooks and batches ---

export const JobStatus = z.object({
  v: z.literal(1),
  id: z.string(),
  tenant: z.string(),
  status: JobState,
  source: SourceInfo,
  options: JobOptions,
  priority: z.enum(Priority),
  pages: z.object({ total: z.number().int().nonnegative(), done: z.number().int().nonnegative(), failed: z.number().int().nonnegative() }),
  /** Issue 18: pages whose kept answer is suspect (looping, truncated, little text for the ink, low confidence), once the job ended. */
  quality: z.object({ suspectPages: z.number().int().nonnegative(), suspect: z.array(z.number().int().positive()) }).optional(),
  error: ErrorInfo.optional(),
  pageDetails: z.array(PageSummary).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().optional(),
  result: z.object({ markdown: z.string(), json: z.string() }).optional(),
  /** Issue 10: the callback for this job's end and its delivery attempts; the batch it was uploaded in. */
  webhook: JobWebhook.optional(),
  batch: z.string().optional(),
});
export type JobStatus = z.infer<typeof JobStatus>;

/** One page's terminal record (KV key JobKeys.page): the first writer wins, duplicates are ignored. */
export const PageRecord = z.object({
  page: z.number().int().positive(),
  status: z.enum(['done', 'failed']),
  engine: z.string().optional(),
  resultKey: z.string().optional(),
  /** The page's result itself when it came inline (small): the assembler reads no object for it. */
  result: z.lazy(() => PageResult).optional(),
  error: ErrorInfo.optional(),
  /** Issue 18: the tries that failed a page (a done page's are in its result). */
  attempts: z.array(PageAttempt).optional(),
  /** When the record was written (the sweeper's measure of progress). */
  at: z.string().optional(),
});
export type PageRecord = z.infer<typeof PageRecord>;

/**
 * Payloads up to this size travel inside the message instead of through the blob store: an
 * object-store read costs a consumer and 2–3 ms of server CPU (PLATFORM.md), a KV or S3 round
 * trip more latency than the bytes. Base64 makes 64 KiB about 87 KiB, well under NATS's 1 MB.
 */
export const INLINE_MAX_BYTES = 64 * 1024;

export const JobSubmitted = z.object({
  v: z.literal(1),
  jobId: z.string(),
  tenant: z.string(),
  sourceKey: z.string(),
  /** The source's bytes (base64) when at most INLINE_MAX_BYTES: then nothing is stored under sourceKey. */
  source: z.string().optional(),
  mediaType: z.string(),
  options: JobOptions,
  priority: z.enum(Priority),
});
export type JobSubmitted = z.infer<typeof JobSubmitted>;

export const PageReady = z.object({
  v: z.literal(1),
  jobId: z.string(),
  tenant: z.string(),
  page: z.number().int().positive(),
  /** Number of pages this job will produce (after the page range). */
  count: z.number().int().positive(),
  imageKey: z.string(),
  /** The page image (base64 PNG, the object under imageKey) when at most INLINE_MAX_BYTES: OCR reads no object. */
  image: z.string().optional(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Key of the page's PDF text layer (PageText JSON) when the rasterizer found a usable one. */
  textKey: z.string().optional(),
  /** The text layer itself when small (then not stored under textKey). */
  text: z.lazy(() => PageText).optional(),
  priority: z.enum(Priority),
  options: JobOptions,
});
export type PageReady = z.infer<typeof PageReady>;

export const BBox = z.tuple([z.number(), z.number(), z.number(), z.number()]);
export type BBox = z.infer<typeof BBox>;

/** One line of text as an engine saw it: [x1, y1, x2, y2] in page-image pixels. */
export const TextLine = z.object({
  text: z.string(),
  bbox: BBox,
  confidence: z.number().min(0).max(1).optional(),
});
export type TextLine = z.infer<typeof TextLine>;

export const Block = z.object({
  /** title, sub_title, text, table, …; page furniture: page_header, page_footer, page_number, margin_note. */
  type: z
    .string()
    .describe(
      'title, sub_title, text, table, table_caption, table_footnote, footnote, image, image_caption, equation; page furniture: page_header, page_footer, page_number, margin_note (left out of the Markdown unless furniture=keep); other values may appear',
    ),
  /** [x1, y1, x2, y2] in page-image pixels. */
  bbox: BBox.describe('[x1, y1, x2, y2] in page-image pixels (origin top left)'),
  /** Plain text: no Markdown/HTML decoration; tables are rows of tab-separated cells, LaTeX kept as written. */
  text: z
    .string()
    .describe(
      'Plain text without Markdown/HTML decoration; tables: rows of tab-separated cells; formulas: LaTeX as written; images: the Markdown link of the crop',
    ),
  /** Recognition confidence, 0–1: the recogniser's (CPU engine), or the geometric mean probability of the tokens that wrote the block (vision models whose server returns log-probabilities). */
  confidence: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe("Confidence 0–1: the recogniser's (CPU engine), or the geometric mean probability of the block's tokens (vision models)"),
  /** Reading-order index within the page, from 0 (the assembler fills it in where an engine did not). */
  order: z.number().int().nonnegative().optional().describe('Reading-order index within the page, from 0'),
  /** Tables from models that write HTML: the table as written, rowspan/colspan and <th> kept. */
  html: z.string().optional().describe('Tables from vision models: the table HTML as written (rowspan/colspan kept)'),
  /** Issue 18: the lines the block was read from, in reading order (engines that see lines: CPU, PDF text layers); placed by the PDF, hOCR and ALTO outputs. */
  lines: z
    .array(TextLine)
    .optional()
    .describe('The lines the block was read from, each with its box in page-image pixels (CPU engine and PDF text layers; vision models give blocks only)'),
});
export type Block = z.infer<typeof Block>;

/** A PDF page's text layer as extracted by the rasterizer (pdfjs getTextContent), in page-image pixels. */
export const PageText = z.object({
  page: z.number().int().positive(),
  width: z.number(),
  height: z.number(),
  /** True when some font on the page has no glyph data (rendered image shows boxes): the text layer is then the only truth. */
  missingFonts: z.boolean(),
  items: z.array(z.object({ text: z.string(), bbox: BBox, fontSize: z.number() })),
});
export type PageText = z.infer<typeof PageText>;

/** What an engine returns for one page; stored at BlobKeys.pageResult. */
export const PageResult = z.object({
  page: z.number().int().positive(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  engine: z.string(),
  markdown: z.string(),
  blocks: z.array(Block),
  raw: z.string(),
  ms: z.number().nonnegative(),
  /** Issue 18: quality signals of this answer, and every try it took (engine, outcome, why). */
  quality: PageQuality.optional(),
  attempts: z.array(PageAttempt).optional(),
});
export type PageResult = z.infer<typeof PageResult>;

export const PageDone = z.object({
  v: z.literal(1),
  jobId: z.string(),
  tenant: z.string(),
  page: z.number().int().positive(),
  count: z.number().int().positive(),
  /** Where the result is stored, or (when small) the result itself: exactly one of the two. */
  resultKey: z.string().optional(),
  result: PageResult.optional(),
  engine: z.string(),
});
export type PageDone = z.infer<typeof PageDone>;

export const PageFailed = z.object({
  v: z.literal(1),
  jobId: z.string(),
  tenant: z.string(),
  page: z.number().int().positive(),
  count: z.number().int().positive(),
  error: ErrorInfo,
  /** Issue 18: each engine's try and how it ended. */
  attempts: z.array(PageAttempt).optional(),
});
export type PageFailed = z.infer<typeof PageFailed>;

export const PageOutcome = z.union([PageDone, PageFailed]);
export type PageOutcome = z.infer<typeof PageOutcome>;

export const JobEvent = z.object({
  v: z.literal(1),
  jobId: z.string(),
  tenant: z.string(),
  kind: z.enum(['completed', 'partial', 'failed', 'cancelled']),
  status: JobStatus,
});
export type JobEvent = z.infer<typeof JobEvent>;

/** document.json */
export const DocumentResult = z.object({
  v: z.literal(1),
  jobId: z.string(),
  source: SourceInfo,
  pages: z.array(
    z.object({
      page: z.number().int().positive(),
      status: z.enum(['done', 'failed']),
      engine: z.string().optional(),
      width: z.number().optional(),
      height: z.number().optional(),
      markdown: z.string(),
      blocks: z.array(Block),
      error: ErrorInfo.optional(),
      /** Issue 18: the kept answer's quality signals, and the tries behind it. */
      quality: PageQuality.optional(),
      attempts: z.array(PageAttempt).optional(),
    }),
  ),
});
export type DocumentResult = z.infer<typeof DocumentResult>;
