import type { FastifyInstance } from 'fastify';
import type { Config } from '../../shared/config.ts';
import type { Runtime } from '../../shared/runtime.ts';
import { buildApp } from './app.ts';
import { createAudit } from './audit.ts';
import { QuotaStore } from './quota-store.ts';
import { QUOTA_CONSUMER, startQuotaRelease } from './quota-release.ts';
import { WorkStreams, startServiceLag } from '../../shared/consumer-lag.ts';
import { Streams } from '../../shared/subjects.ts';

export class ExposureError extends Error {}

/** Loopback addresses: only this machine can connect. Anything else (0.0.0.0, ::, a LAN address, a name) is the network. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Open (no API keys) means local only: listening on the network without keys needs
 * FOLIO_ALLOW_UNAUTHENTICATED_NETWORK=true, said on purpose. Returns the start-up warning to log,
 * if any; throws when the combination is refused.
 */
export function checkExposure(config: Pick<Config, 'apiKeys' | 'FOLIO_ALLOW_UNAUTHENTICATED_NETWORK'>, host: string): string | null {
  if (config.apiKeys.size > 0) return null;
  if (isLoopback(host)) {
    return `No API keys configured (FOLIO_API_KEYS / FOLIO_API_KEYS_FILE): Folio is OPEN, with no authentication, and listens on ${host} only`;
  }
  if (!config.FOLIO_ALLOW_UNAUTHENTICATED_NETWORK) {
    throw new ExposureError(
      `Refusing to listen on ${host} without API keys: anyone who can reach it could use Folio and read every job. ` +
        'Set FOLIO_API_KEYS or FOLIO_API_KEYS_FILE, or listen on 127.0.0.1, or set FOLIO_ALLOW_UNAUTHENTICATED_NETWORK=true to accept that.',
    );
  }
  return `No API keys configured and FOLIO_ALLOW_UNAUTHENTICATED_NETWORK=true: Folio is OPEN to anyone who can reach ${host}`;
}

export async function startIngest(rt: Runtime, listen = { host: rt.config.FOLIO_HTTP_HOST, port: rt.config.FOLIO_HTTP_PORT }): Promise<{ app: FastifyInstance; url: string; stop(): Promise<void> }> {
  const log = rt.log.child({ service: 'ingest' });
  const openWarning = checkExposure(rt.config, listen.host);
  const c = rt.config;
  const quota = new QuotaStore(rt.bus.quota, {
    pagesPerDay: c.FOLIO_QUOTA_PAGES_PER_DAY,
    concurrentJobs: c.FOLIO_QUOTA_CONCURRENT_JOBS,
    pagesInFlight: c.FOLIO_QUOTA_PAGES_IN_FLIGHT,
    maxJobAgeMs: c.FOLIO_RESULT_TTL_S * 1000,
  });
  const release = quota.enabled ? await startQuotaRelease({ js: rt.bus.js, jsm: rt.bus.jsm, quota, log }) : undefined;
  const app = await buildApp({ ...rt, log, quota: quota.enabled ? quota : undefined, audit: createAudit(log) });
  // Work waiting in each stream (what autoscalers scale on: ingest always runs) and the quota consumer's lag (issue 11).
  const lag = startServiceLag(rt, quota.enabled ? [{ stream: Streams.events, consumers: [QUOTA_CONSUMER] }] : [], WorkStreams);
  const address = await app.listen(listen);
  if (openWarning) log.warn({ host: listen.host }, openWarning);
  else if (c.apiKeys.size > 0) log.info({ tenants: c.apiKeys.tenants.length, keys: c.apiKeys.size }, 'API keys loaded; every request must carry one');
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
