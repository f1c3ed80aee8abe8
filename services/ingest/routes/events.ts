import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminal } from '../../../shared/bus/index.ts';
import { readJob, type IngestDeps } from '../jobs.ts';
import { publicStatus } from '../public-job.ts';

const POLL_MS = 500;
const KEEPALIVE_MS = 15_000;

/**
 * Server-Sent Events for one job: a `status` event (the Job, with progress and ETA) whenever its
 * state or progress changes, ending after the terminal one. Polling KV keeps this stateless across ingest replicas.
 */
export async function streamEvents(deps: IngestDeps, req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) {
  // Taken before the hijack, so a refusal is still an ordinary JSON 429.
  const release = deps.caps?.acquire('streams', req.tenant);
  try {
    await stream(deps, req, reply);
  } finally {
    release?.();
  }
}

async function stream(deps: IngestDeps, req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let closed = false;
  // The response's 'close', not the request's: a GET's request side is complete (and closed) at once.
  res.on('close', () => (closed = true));
  let last = '';
  let lastWrite = Date.now();
  while (!closed) {
    const job = await readJob(deps, req.params.id, req.tenant).catch(() => null);
    if (!job) break;
    const fingerprint = `${job.status}:${job.pages.done}:${job.pages.failed}`;
    if (fingerprint !== last) {
      last = fingerprint;
      res.write(`event: status\ndata: ${JSON.stringify(publicStatus(job))}\n\n`);
      lastWrite = Date.now();
    }
    if (isTerminal(job.status)) break;
    if (Date.now() - lastWrite > KEEPALIVE_MS) {
      res.write(': keep-alive\n\n');
      lastWrite = Date.now();
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  res.end();
}
