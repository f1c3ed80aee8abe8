import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { FolioError } from '../../shared/operations/index.ts';

export interface QuotaLimits {
  /** 0 = no limit, for each. */
  pagesPerDay: number;
  concurrentJobs: number;
  pagesInFlight: number;
  /** A job still held after this long is dropped from the record (a lost release cannot leak quota forever). */
  maxJobAgeMs: number;
}

export type QuotaName = 'pages_per_day' | 'concurrent_jobs' | 'pages_in_flight';

/**
 * One record per tenant, so one compare-and-set checks and books every quota at once. Jobs are
 * held by id: releasing is idempotent, so a redelivered end-of-job event releases nothing twice.
 */
export interface TenantUsage {
  v: 1;
  /** UTC day of `pagesToday`. */
  day: string;
  pagesToday: number;
  /** jobId → [pages, reserved at (ms)] for jobs not ended yet. */
  jobs: Record<string, [number, number]>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const isConflict = (err: unknown) =>
  err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const secondsToMidnightUtc = (ms: number) =>
  Math.ceil((Date.UTC(new Date(ms).getUTCFullYear(), new Date(ms).getUTCMonth(), new Date(ms).getUTCDate() + 1) - ms) / 1000);
/** Concurrency quotas free up when a job ends; when is unknown, so suggest a short wait. */
const CONCURRENCY_RETRY_S = 5;
const MAX_ATTEMPTS = 30;

/**
 * Per-tenant quotas enforced across ingest replicas: one KV record per tenant in `folio_quota`,
 * changed only by compare-and-set, so two replicas admitting jobs at the same moment cannot both
 * take the last unit.
 */
export class QuotaStore {
  constructor(
    private readonly kv: KV,
    readonly limits: QuotaLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.limits.pagesPerDay > 0 || this.limits.concurrentJobs > 0 || this.limits.pagesInFlight > 0;
  }

  async usage(tenant: string): Promise<TenantUsage> {
    const e = await this.kv.get(tenant);
    return this.fresh(e && e.operation === 'PUT' ? (e.json() as TenantUsage) : undefined);
  }

  /**
   * Books a job of `pages` pages for the tenant, or throws FOLIO_QUOTA_EXCEEDED (429, retry
   * later) naming the quota. A job that could never fit the daily quota is a 422 instead, so a
   * client does not retry it forever. A job larger than the in-flight quota is admitted when the
   * tenant has nothing else in flight, so no job size is refused for good.
   */
  async reserve(tenant: string, jobId: string, pages: number): Promise<void> {
    if (!this.enabled) return;
    const { pagesPerDay, concurrentJobs, pagesInFlight } = this.limits;
    if (pagesPerDay > 0 && pages > pagesPerDay) {
      throw new FolioError('FOLIO_TOO_MANY_PAGES', `The job has ${pages} pages; the daily quota is ${pagesPerDay}`, {
        quota: 'pages_per_day',
        limit: pagesPerDay,
        requested: pages,
      });
    }
    await this.change(tenant, (u) => {
      const now = this.now();
      const held = Object.values(u.jobs);
      const inFlight = held.reduce((n, [p]) => n + p, 0);
      if (pagesPerDay > 0 && u.pagesToday + pages > pagesPerDay) {
        const retryAfterS = secondsToMidnightUtc(now);
        throw quotaError('pages_per_day', pagesPerDay, u.pagesToday, pages, retryAfterS, retryAfterS);
      }
      if (concurrentJobs > 0 && held.length >= concurrentJobs) throw quotaError('concurrent_jobs', concurrentJobs, held.length, 1, CONCURRENCY_RETRY_S);
      if (pagesInFlight > 0 && inFlight > 0 && inFlight + pages > pagesInFlight)
        throw quotaError('pages_in_flight', pagesInFlight, inFlight, pages, CONCURRENCY_RETRY_S);
      return { ...u, pagesToday: u.pagesToday + pages, jobs: { ...u.jobs, [jobId]: [pages, now] } };
    });
  }

  /** Frees what the job held; true when it held something. Safe to call any number of times. */
  async release(tenant: string, jobId: string): Promise<boolean> {
    if (!this.enabled) return false;
    let released = false;
    await this.change(tenant, (u) => {
      if (!(jobId in u.jobs)) return null;
      const { [jobId]: _gone, ...jobs } = u.jobs;
      released = true;
      return { ...u, jobs };
    });
    return released;
  }

  /** Today's record with stale jobs dropped. */
  private fresh(u: TenantUsage | undefined): TenantUsage {
    const now = this.now();
    const day = utcDay(now);
    if (!u || u.v !== 1) return { v: 1, day, pagesToday: 0, jobs: {} };
    const oldest = now - this.limits.maxJobAgeMs;
    const jobs = Object.fromEntries(Object.entries(u.jobs ?? {}).filter(([, [, at]]) => at >= oldest));
    return { v: 1, day, pagesToday: u.day === day ? u.pagesToday : 0, jobs };
  }

  /** Read, change, compare-and-set; `fn` returns null for "nothing to write" and may throw to refuse. */
  private async change(tenant: string, fn: (u: TenantUsage) => TenantUsage | null): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const e = await this.kv.get(tenant);
      const exists = !!e && e.operation === 'PUT';
      const next = fn(this.fresh(exists ? (e!.json() as TenantUsage) : undefined));
      if (!next) return;
      try {
        if (exists) await this.kv.update(tenant, JSON.stringify(next), e!.revision);
        else await this.kv.create(tenant, JSON.stringify(next));
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
        await sleep(Math.random() * Math.min(100, 2 * 2 ** attempt));
      }
    }
    throw new FolioError('FOLIO_UNAVAILABLE', 'The quota record is too contended; try again');
  }
}

function quotaError(quota: QuotaName, limit: number, used: number, requested: number, retryAfterS: number, resetS = retryAfterS): FolioError {
  const what = { pages_per_day: 'pages per day', concurrent_jobs: 'concurrent jobs', pages_in_flight: 'pages in flight' }[quota];
  return new FolioError('FOLIO_QUOTA_EXCEEDED', `Quota of ${limit} ${what} reached (${used} used); retry in ${retryAfterS} s`, {
    quota,
    limit,
    used,
    requested,
    retryAfterS,
    resetS,
  });
}
