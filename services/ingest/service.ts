import type { FastifyInstance } from 'fastify';
import { checkExposure } from '../../shared/config/index.ts';
import type { Runtime } from '../../shared/operations/index.ts';
import { buildApp } from './app.ts';
import { createAudit } from './audit.ts';
import { QuotaStore } from './quota-store.ts';
import { QUOTA_CONSUMER, startQuotaRelease } from './quota-release.ts';
import { WorkStreams, startServiceLag, Streams } from '../../shared/bus/index.ts';

export async function startIngest(
  rt: Runtime,
  listen = { host: rt.config.ingest.host, port: rt.config.ingest.port },
): Promise<{ app: FastifyInstance; url: string; stop(): Promise<void> }> {
  const log = rt.log.child({ service: 'ingest' });
  const openWarning = checkExposure(rt.config, listen.host);
  const c = rt.config;
  const quota = new QuotaStore(rt.bus.quota, {
    pagesPerDay: c.ingest.quota.pagesPerDay,
    concurrentJobs: c.ingest.quota.concurrentJobs,
    pagesInFlight: c.ingest.quota.pagesInFlight,
    maxJobAgeMs: c.jetstream.resultTtlS * 1000,
  });
  const release = quota.enabled ? await startQuotaRelease({ js: rt.bus.js, jsm: rt.bus.jsm, quota, log }) : undefined;
  const app = await buildApp({ ...rt, log, quota: quota.enabled ? quota : undefined, audit: createAudit(log) });
  // Work waiting in each stream (what autoscalers scale on: ingest always runs) and the quota consumer's lag (issue 11).
  const lag = startServiceLag(rt, quota.enabled ? [{ stream: Streams.events, consumers: [QUOTA_CONSUMER] }] : [], WorkStreams);
  const address = await app.listen(listen);
  if (openWarning) log.warn({ host: listen.host }, openWarning);
  else if (c.ingest.apiKeys.size > 0)
    log.info({ tenants: c.ingest.apiKeys.tenants.length, keys: c.ingest.apiKeys.size }, 'API keys loaded; every request must carry one');
  return {
    app,
    url: address.replace('0.0.0.0', '127.0.0.1'),
    async stop() {
      lag.stop();
      await app.close();
      await release?.stop();
    },
  };
}
