import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { IngestDeps } from './jobs.ts';
import { installErrorHandling, toHttpError } from './http-errors.ts';
import { continueOnFirstRead } from './refusal-drain.ts';
import { createRateLimiter } from './rate-limit.ts';
import { installEdge } from './edge.ts';
import { createAudit } from './audit.ts';
import { TenantCaps } from './tenant-caps.ts';
import { registerJobRoutes } from './routes/jobs.ts';
import { registerCompatRoutes } from './routes/compat.ts';
import { registerOpsRoutes } from './routes/ops.ts';
import { buildOpenApi, withFallbacks } from './openapi.ts';
import { startProgressEvents } from './notify/progress.ts';
import { startWebhooks } from './notify/webhooks.ts';

/** The ingest HTTP API as a Fastify instance that is not yet listening (tests use port 0). */
export async function buildApp(given: IngestDeps): Promise<FastifyInstance> {
  const c = given.config;
  const deps: IngestDeps = {
    ...given,
    audit: given.audit ?? createAudit(given.log),
    caps:
      given.caps ??
      new TenantCaps(
        { uploads: c.ingest.perTenant.uploads, sync_waits: c.ingest.perTenant.syncWaits, streams: c.ingest.perTenant.streams },
        { uploads: c.ingest.perReplica.uploads, sync_waits: c.ingest.perReplica.syncWaits },
      ),
  };
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as FastifyBaseLogger,
    // Per-request lines would drown the job logs; /metrics counts requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: deps.config.ingest.trustProxy,
    // Uploads are streamed and counted by us; this limit applies to JSON bodies only.
    bodyLimit: 1024 * 1024,
    // The whole request must arrive within this (slow-loris uploads); a stalled body is cut sooner, in upload.ts.
    requestTimeout: deps.config.ingest.requestTimeoutMs,
    // A path parameter that cannot be decoded (`/v1/jobs/%zz`) is refused before routing: in our envelope (400), not Fastify's own body.
    frameworkErrors: (err, _req, reply) => {
      const folio = toHttpError(err);
      void (reply as unknown as FastifyReply).status(folio.status).send({ error: folio.toJSON() });
    },
  }) as unknown as FastifyInstance;
  installErrorHandling(app, deps.metrics, deps.audit, { maxBytes: c.ingest.refusalDrainBytes, maxMs: c.ingest.refusalDrainMs });
  // `Expect: 100-continue` is answered when a route first reads the body, so a refusal comes before it is sent.
  app.server.on('checkContinue', (req, res) => {
    continueOnFirstRead(req, res);
    app.server.emit('request', req, res);
  });

  // Issue 10: the document is generated from the zod schemas (openapi.ts); what @fastify/swagger
  // discovers only fills in routes the table lacks.
  await app.register(swagger, {
    openapi: { info: { title: 'Folio OCR API', version: '1' } },
    transformObject: (found) => withFallbacks(buildOpenApi(), (found as { openapiObject: Parameters<typeof withFallbacks>[1] }).openapiObject) as never,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(multipart, { limits: { fileSize: deps.config.limits.maxUploadBytes, files: 1 } });
  // Raw uploads (`curl --data-binary @doc.pdf`): hand the body stream to the route untouched.
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  // Authentication, rate limit (per tenant, else per address), cross-site refusal: see edge.ts.
  const limiter = createRateLimiter({
    kv: deps.bus.rateLimit,
    max: deps.config.ingest.rateLimit.max,
    windowS: deps.config.ingest.rateLimit.windowS,
    log: deps.log,
  });
  app.addHook('onClose', async () => limiter.close());
  installEdge(app, { keys: deps.config.ingest.apiKeys, limiter, audit: deps.audit! });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  // Issue 10: progress events on NATS and webhooks, started with the server and stopped with it.
  const notifiers: Array<{ stop(): Promise<void> }> = [];
  app.addHook('onReady', async () => {
    notifiers.push(
      await startProgressEvents(deps).catch((err) => (deps.log.warn({ err }, 'progress events off: cannot watch page records'), { stop: async () => {} })),
    );
    if (deps.config.ingest.webhooks.secret) notifiers.push(await startWebhooks(deps));
  });
  app.addHook('onClose', async () => void (await Promise.allSettled(notifiers.map((n) => n.stop()))));

  registerOpsRoutes(app, deps);
  registerJobRoutes(app, deps);
  (await import('./routes/formats.ts')).registerFormatRoutes(app, deps); // tables, HTML, chunks, layout schema (issue 9)
  registerCompatRoutes(app, deps);
  return app;
}
