import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { IngestDeps } from './jobs.ts';
import { installErrorHandling } from './http-errors.ts';
import { tenantOf } from './auth.ts';
import { registerRateLimit } from './rate-limit.ts';
import { registerJobRoutes } from './routes/jobs.ts';
import { registerCompatRoutes } from './routes/compat.ts';
import { registerOpsRoutes } from './routes/ops.ts';

declare module 'fastify' {
  interface FastifyRequest {
    tenant: string;
  }
}

/** Routes that need no API key: the home page, probes, metrics and the API docs. */
const OPEN_ROUTES = /^\/(?:$|\?|(?:healthz|readyz|metrics|docs)(?:[/?]|$))/;

/** The ingest HTTP API as a Fastify instance that is not yet listening (tests use port 0). */
export async function buildApp(deps: IngestDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as FastifyBaseLogger,
    // Per-request lines would drown the job logs; /metrics counts requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: deps.config.FOLIO_TRUST_PROXY,
    // Uploads are streamed and counted by us; this limit applies to JSON bodies only.
    bodyLimit: 1024 * 1024,
  }) as unknown as FastifyInstance;
  installErrorHandling(app, deps.metrics);
  app.decorateRequest('tenant', '');

  await app.register(swagger, {
    openapi: {
      info: { title: 'Folio OCR API', version: '1', description: 'Images and PDFs in; Markdown and layout JSON out. Errors are `{error: {code, message}}` with a stable code.' },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(multipart, { limits: { fileSize: deps.config.FOLIO_MAX_UPLOAD_BYTES, files: 1 } });
  // Raw uploads (`curl --data-binary @doc.pdf`): hand the body stream to the route untouched.
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  await registerRateLimit(app, { kv: deps.bus.rateLimit, max: deps.config.FOLIO_RATE_LIMIT_MAX, windowS: deps.config.FOLIO_RATE_LIMIT_WINDOW_S, log: deps.log });

  app.addHook('onRequest', async (req) => {
    if (!OPEN_ROUTES.test(req.url)) req.tenant = tenantOf(req, deps.config.apiKeys);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  registerOpsRoutes(app, deps);
  registerJobRoutes(app, deps);
  registerCompatRoutes(app, deps);
  return app;
}
