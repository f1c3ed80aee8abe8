// Part of the configuration module: the one start-up check that needs the listening address too,
// so its messages may name the settings an operator sets.

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
export function checkExposure(config: { ingest: { apiKeys: { size: number }; allowUnauthenticatedNetwork: boolean } }, host: string): string | null {
  if (config.ingest.apiKeys.size > 0) return null;
  if (isLoopback(host)) {
    return `No API keys configured (FOLIO_API_KEYS / FOLIO_API_KEYS_FILE): Folio is OPEN, with no authentication, and listens on ${host} only`;
  }
  if (!config.ingest.allowUnauthenticatedNetwork) {
    throw new ExposureError(
      `Refusing to listen on ${host} without API keys: anyone who can reach it could use Folio and read every job. ` +
        'Set FOLIO_API_KEYS or FOLIO_API_KEYS_FILE, or listen on 127.0.0.1, or set FOLIO_ALLOW_UNAUTHENTICATED_NETWORK=true to accept that.',
    );
  }
  return `No API keys configured and FOLIO_ALLOW_UNAUTHENTICATED_NETWORK=true: Folio is OPEN to anyone who can reach ${host}`;
}
