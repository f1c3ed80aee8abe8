/** Every JetStream name the services agree on. Nothing outside this file spells a subject. */
export const Priority = ['interactive', 'batch'] as const;
export type Priority = (typeof Priority)[number];

export const Subjects = {
  jobSubmitted: 'folio.job.submitted',
  pageReady: (priority: Priority) => `folio.page.ready.${priority}`,
  pageDone: 'folio.page.done',
  pageFailed: 'folio.page.failed',
  /** kind: completed | partial | failed | cancelled | progress */
  event: (tenant: string, jobId: string, kind: string) => `folio.events.${tenant}.${jobId}.${kind}`,
  eventsOfJob: (tenant: string, jobId: string) => `folio.events.${tenant}.${jobId}.>`,
  allEvents: 'folio.events.>',
} as const;

export const Streams = {
  jobs: 'FOLIO_JOBS',
  pages: 'FOLIO_PAGES',
  pageResults: 'FOLIO_PAGE_RESULTS',
  events: 'FOLIO_EVENTS',
} as const;

export const Consumers = {
  rasterizer: 'rasterizer',
  ocr: { interactive: 'ocr-interactive', batch: 'ocr-batch' } satisfies Record<Priority, string>,
  assembler: 'assembler',
} as const;

export const Buckets = {
  jobs: 'folio_jobs',
  cache: 'folio_cache',
  rateLimit: 'folio_ratelimit',
  /** JetStream object store used as the blob store when no S3 endpoint is configured. */
  blobs: 'folio_blobs',
} as const;

/** Deterministic Nats-Msg-Id values so a retried publish is deduplicated by the stream. */
export const MsgIds = {
  job: (jobId: string) => jobId,
  page: (jobId: string, page: number) => `${jobId}.${page}`,
  pageDone: (jobId: string, page: number) => `${jobId}.${page}.done`,
  pageFailed: (jobId: string, page: number) => `${jobId}.${page}.failed`,
} as const;

/** KV keys in the jobs bucket. Page records live under their own keys to avoid one hot key per job. */
export const JobKeys = {
  status: (jobId: string) => jobId,
  page: (jobId: string, page: number) => `${jobId}.page.${page}`,
  pagesOf: (jobId: string) => `${jobId}.page.*`,
  /** The last source page the rasterizer published: a redelivered job resumes after it. */
  rasterProgress: (jobId: string) => `${jobId}.raster`,
} as const;

/** Deterministic object keys: a retry overwrites the same object. */
export const BlobKeys = {
  source: (jobId: string) => `sources/${jobId}`,
  pageImage: (jobId: string, page: number) => `pages/${jobId}/${page}.png`,
  pageText: (jobId: string, page: number) => `pages/${jobId}/${page}.text.json`,
  pageResult: (jobId: string, page: number) => `results/${jobId}/pages/${page}.json`,
  markdown: (jobId: string) => `results/${jobId}/document.md`,
  json: (jobId: string) => `results/${jobId}/document.json`,
  /** Figure crops, named as the Markdown links them: `images/<page>_<k>.jpg`. */
  figure: (jobId: string, name: string) => `results/${jobId}/images/${name}`,
  jobPrefix: (jobId: string) => [`sources/${jobId}`, `pages/${jobId}/`, `results/${jobId}/`],
} as const;
