import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { IngestDeps } from '../jobs.ts';

/**
 * The page viewer (public/index.html), with marked and DOMPurify inlined from their npm packages
 * at start-up: no build step, and no extra route that would need the API key (a browser loading
 * a script sends no Authorization header).
 */
const require = createRequire(import.meta.url);
// Beside each package's main file (their `exports` do not list the browser builds).
const beside = (pkg: string, file: string) => path.join(path.dirname(require.resolve(pkg)), file);
const vendor = [beside('marked', 'marked.umd.js'), beside('dompurify', 'purify.min.js')]
  .map((f) =>
    readFileSync(f, 'utf8')
      .replace(/\/\/# sourceMappingURL=.*$/gm, '')
      .replace(/<\/script/gi, '<\\/script'),
  )
  .join('\n;\n');
const HOME = readFileSync(new URL('../public/index.html', import.meta.url), 'utf8').replace('/*VENDOR*/', () => vendor);
/**
 * The client package's SSE parser, which the page imports: one parser for the CLI, the tests and
 * the browser. Open like the page (a module script is fetched without the key), and plain
 * JavaScript, so it is served as it is.
 */
const PAGE_SSE_MODULE = '/client/sse.js';
const SSE_MODULE = readFileSync(new URL('../../../client/sse.js', import.meta.url), 'utf8');

export function registerOpsRoutes(app: FastifyInstance, deps: IngestDeps) {
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(HOME));
  app.get(PAGE_SSE_MODULE, { schema: { hide: true } }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(SSE_MODULE));

  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['ops'] } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { summary: 'Readiness: NATS and the object store answer', tags: ['ops'] } }, async (_req, reply) => {
    const checks: Record<string, string> = {};
    const within = <T>(p: Promise<T>) => Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000).unref())]);
    await within(deps.bus.nc.flush()).then(
      () => (checks.nats = 'ok'),
      (e: Error) => (checks.nats = e.message),
    );
    await within(deps.blobs.ping()).then(
      () => (checks.blobs = 'ok'),
      (e: Error) => (checks.blobs = e.message),
    );
    const ready = Object.values(checks).every((v) => v === 'ok');
    if (!ready) reply.status(503).header('retry-after', '5');
    return ready ? { status: 'ready', checks } : { error: { code: 'FOLIO_UNAVAILABLE', message: 'Not ready', details: checks } };
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['ops'] } }, async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
