/**
 * The job as its owner sees it over HTTP, SSE and webhooks: public errors, links, progress. Routes
 * and notifiers import it from here, so no route module has to import another.
 */
import type { FastifyRequest } from 'fastify';
import { FolioError, publicError } from '../../shared/operations/index.ts';
import { isTerminal, type JobStatus } from '../../shared/bus/index.ts';
import type { JobView } from '../../shared/document/index.ts';
import { readJob, type IngestDeps } from './jobs.ts';

/** A job status as its owner sees it over HTTP (status, SSE, compat): errors through publicError (shared/operations/errors.ts). */
export function publicJob(s: JobStatus): JobStatus {
  return {
    ...s,
    ...(s.error ? { error: publicError(s.error) } : {}),
    ...(s.pageDetails ? { pageDetails: s.pageDetails.map((p) => (p.error ? { ...p, error: publicError(p.error) } : p)) } : {}),
  };
}

/** Where a job's resources are: every view of a job carries them. */
export const links = (id: string) => ({
  self: `/v1/jobs/${id}`,
  result: `/v1/jobs/${id}/result`,
  markdown: `/v1/jobs/${id}/result?format=markdown`,
  json: `/v1/jobs/${id}/result?format=json`,
  events: `/v1/jobs/${id}/events`,
  pageImage: `/v1/jobs/${id}/pages/{page}/image`,
});

/** Pages per second since the job was accepted, and the seconds left at that rate. */
export function progressOf(s: JobStatus, now = Date.now()): JobView['progress'] {
  const finished = s.pages.done + s.pages.failed;
  if (isTerminal(s.status)) return { etaSeconds: 0 };
  if (finished === 0) return {};
  const elapsedS = Math.max(0.001, (now - Date.parse(s.createdAt)) / 1000);
  const rate = finished / elapsedS;
  return { pagesPerSecond: Math.round(rate * 1000) / 1000, etaSeconds: Math.round((Math.max(0, s.pages.total - finished) / rate) * 10) / 10 };
}

/** The job a request names, looked up with the request's tenant: another tenant's job is a 404. */
export async function requireJob(deps: IngestDeps, req: FastifyRequest<{ Params: { id: string } }>): Promise<JobStatus> {
  const job = await readJob(deps, req.params.id, req.tenant);
  if (!job) throw new FolioError('FOLIO_JOB_NOT_FOUND', `No job with id "${req.params.id}"`);
  return job;
}

/** The job as HTTP shows it (status, SSE, DELETE): no internal object keys; links, progress and ETA instead. */
export function publicStatus(s: JobStatus & { cached?: boolean }): JobView {
  const { result: _internal, ...rest } = publicJob(s);
  return { ...rest, links: links(s.id), progress: progressOf(s) };
}
