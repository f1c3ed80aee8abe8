/** Every JetStream name the services agree on. Nothing outside this file spells a subject. */
export const Priority = ['interactive', 'batch'] as const;
export type Priority = (typeof Priority)[number];

/**
 * Work subjects carry the tenant and the job as their last tokens: pages of different tenants can
 * be pulled by different consumers (fair share), and the sweeper can ask the stream whether a job
 * still has work waiting (a subjects-filtered stream info) before it calls the job stuck.
 * Tenant names are checked as subject tokens where keys are parsed.
 */
export const Subjects = {
  jobSubmitted: (tenant: string, jobId: string) => `folio.job.submitted.${tenant}.${jobId}`,
  allJobsSubmitted: 'folio.job.submitted.>',
  pageReady: (priority: Priority, tenant: string, jobId: string) => `folio.page.ready.${priority}.${tenant}.${jobId}`,
  /** What one per-tenant OCR consumer pulls. */
  pagesOfTenant: (priority: Priority, tenant: string) => `folio.page.ready.${priority}.${tenant}.*`,
  allPagesReady: 'folio.page.ready.>',
  pageDone: (tenant: string, jobId: string) => `folio.page.done.${tenant}.${jobId}`,
  pageFailed: (tenant: string, jobId: string) => `folio.page.failed.${tenant}.${jobId}`,
  allPageResults: ['folio.page.done.>', 'folio.page.failed.>'],
  /** Every work subject, by stream, that may still hold a message of this job (for the sweeper). */
  workOfJob: (jobId: string): Array<[stream: string, filter: string]> => [
    ['FOLIO_JOBS', `folio.job.submitted.*.${jobId}`],
    ['FOLIO_PAGES', `folio.page.ready.*.*.${jobId}`],
    ['FOLIO_PAGE_RESULTS', `folio.page.*.*.${jobId}`],
  ],
  /**
   * Where subscribers hear a job's events; kind: completed | partial | failed | cancelled | progress.
   * Nobody publishes here: the events stream republishes each event it stores (see eventLog).
   */
  event: (tenant: string, jobId: string, kind: string) => `folio.events.${tenant}.${jobId}.${kind}`,
  eventsOfJob: (tenant: string, jobId: string) => `folio.events.${tenant}.${jobId}.>`,
  eventsOfTenant: (tenant: string) => `folio.events.${tenant}.>`,
  allEvents: 'folio.events.>',
  /**
   * Where services publish a job's events: the events stream stores them (deduplicated by message
   * id) and republishes each stored one once on `event`. A publish retried after a leader failover
   * therefore reaches subscribers at most once, where a publish on `event` itself would reach core
   * subscribers every time, stored or not.
   */
  eventLog: (tenant: string, jobId: string, kind: string) => `folio.eventlog.${tenant}.${jobId}.${kind}`,
  allEventLog: 'folio.eventlog.>',
} as const;

/** A page subject's tokens (`folio.page.ready.<priority>.<tenant>.<job>`); null for any other subject. */
export function parsePageSubject(subject: string): { priority: Priority; tenant: string; jobId: string } | null {
  const [folio, page, ready, priority, tenant, jobId, ...rest] = subject.split('.');
  if (folio !== 'folio' || page !== 'page' || ready !== 'ready' || rest.length > 0) return null;
  return (Priority as readonly string[]).includes(priority) && tenant && jobId ? { priority: priority as Priority, tenant, jobId } : null;
}

/** A job event subject's tokens (`folio.events.<tenant>.<job>.<kind>`, or as stored, `folio.eventlog.…`); null for any other subject. */
export function parseEventSubject(subject: string): { tenant: string; jobId: string; kind: string } | null {
  const [folio, events, tenant, jobId, kind, ...rest] = subject.split('.');
  if (folio !== 'folio' || (events !== 'events' && events !== 'eventlog') || rest.length > 0) return null;
  return tenant && jobId && kind ? { tenant, jobId, kind } : null;
}

export const Streams = {
  jobs: 'FOLIO_JOBS',
  pages: 'FOLIO_PAGES',
  pageResults: 'FOLIO_PAGE_RESULTS',
  /** Renamed from FOLIO_EVENTS when events began to be republished (nats-server 2.9 cannot add republish to a stream). */
  events: 'FOLIO_JOB_EVENTS',
} as const;

export const Consumers = {
  rasterizer: 'rasterizer',
  /** One durable consumer per tenant and priority, created by the OCR service when the tenant has pages waiting. */
  ocr: (priority: Priority, tenant: string) => `ocr-${priority}-${tenant}`,
  ocrPrefix: 'ocr-',
  assembler: 'assembler',
} as const;

export const Buckets = {
  jobs: 'folio_jobs',
  cache: 'folio_cache',
  rateLimit: 'folio_ratelimit',
  /** Per-tenant quota counters (pages per day, jobs and pages in flight), shared by ingest replicas. */
  quota: 'folio_quota',
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
  /** Present while the job has not ended: the sweeper's index (a job id never starts with "active."). */
  active: (jobId: string) => `active.${jobId}`,
  allActive: 'active.*',
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
  /** The top-level folders; the segment after each is the job id (the orphan sweep's index). */
  roots: ['sources/', 'pages/', 'results/'],
} as const;
