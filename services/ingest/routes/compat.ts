import type { FastifyInstance } from 'fastify';
import { FolioError, publicError } from '../../../shared/operations/index.ts';
import type { JobState } from '../../../shared/bus/index.ts';
import { readJob, type IngestDeps } from '../jobs.ts';
import { waitForEnd } from '../wait.ts';
import { acceptUpload, withSyncSlot } from './jobs.ts';

/** The seed design's three-state view of a job. Partial results count as completed: there is Markdown. */
function seedStatus(s: JobState): 'pending' | 'completed' | 'failed' {
  if (s === 'completed' || s === 'partial') return 'completed';
  if (s === 'failed' || s === 'cancelled') return 'failed';
  return 'pending';
}

/**
 * Endpoints for clients of the seed design: `POST /ocr` answers an image with its Markdown and a
 * PDF with a task id; `GET /result/:task_id` polls. Unknown form fields are ignored here, as the
 * seed did.
 */
export function registerCompatRoutes(app: FastifyInstance, deps: IngestDeps) {
  app.post('/ocr', { schema: { summary: 'Seed-compatible OCR: image → Markdown; PDF → {task_id, status: "pending"}', tags: ['compat'] } }, async (req, reply) =>
    withSyncSlot(deps, req, async () => {
      const job = await acceptUpload(deps, req, true, false);
      if (job.source.mediaType === 'application/pdf') {
        return reply.status(202).send({ task_id: job.id, status: 'pending' });
      }
      const done = await waitForEnd(deps, job.id, job.tenant, deps.config.ingest.syncTimeoutMs);
      if (!done) return reply.status(202).send({ task_id: job.id, status: 'pending' });
      const markdown = done.result ? (await deps.blobs.get(done.result.markdown)).toString('utf8') : undefined;
      return { task_id: job.id, status: seedStatus(done.status), markdown, ...(done.error ? { error: publicError(done.error) } : {}) };
    }),
  );

  app.get<{ Params: { task_id: string } }>('/result/:task_id', { schema: { summary: 'Seed-compatible result polling', tags: ['compat'] } }, async (req) => {
    const job = await readJob(deps, req.params.task_id, req.tenant);
    if (!job) throw new FolioError('FOLIO_JOB_NOT_FOUND', `No task with id "${req.params.task_id}"`);
    const status = seedStatus(job.status);
    if (status !== 'completed' || !job.result) return { task_id: job.id, status, ...(job.error ? { error: publicError(job.error) } : {}) };
    return { task_id: job.id, status, markdown: (await deps.blobs.get(job.result.markdown)).toString('utf8') };
  });
}
