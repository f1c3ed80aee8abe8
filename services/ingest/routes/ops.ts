import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { IngestDeps } from '../jobs.ts';

/** A one-page upload form for people trying Folio in a browser (the API is the product). */
const HOME = readFileSync(new URL('../public/index.html', import.meta.url));

export function registerOpsRoutes(app: FastifyInstance, deps: IngestDeps) {
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(HOME));

  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['ops'] } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { summary: 'Readiness: NATS and the object store answer', tags: ['ops'] } }, async (_req, reply) => {
    const checks: Record<string, string> = {};
    const within = <T>(p: Promise<T>) => Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000).unref())]);
    await within(deps.bus.nc.flush()).then(() => (checks.nats = 'ok'), (e: Error) => (checks.nats = e.message));
    await within(deps.blobs.ping()).then(() => (checks.blobs = 'ok'), (e: Error) => (checks.blobs = e.message));
    const ready = Object.values(checks).every((v) => v === 'ok');
    if (!ready) reply.status(503).header('retry-after', '5');
    return ready ? { status: 'ready', checks } : { error: { code: 'FOLIO_UNAVAILABLE', message: 'Not ready', details: checks } };
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['ops'] } }, async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
