import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../shared/runtime.ts';
import { buildApp } from './app.ts';

export async function startIngest(rt: Runtime, listen = { host: rt.config.FOLIO_HTTP_HOST, port: rt.config.FOLIO_HTTP_PORT }): Promise<{ app: FastifyInstance; url: string; stop(): Promise<void> }> {
  const app = await buildApp({ config: rt.config, bus: rt.bus, jobs: rt.jobs, blobs: rt.blobs, metrics: rt.metrics, log: rt.log.child({ service: 'ingest' }) });
  const address = await app.listen(listen);
  return { app, url: address.replace('0.0.0.0', '127.0.0.1'), stop: () => app.close() };
}
