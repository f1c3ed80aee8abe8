import type { FastifyRequest } from 'fastify';
import { FolioError } from '../../shared/errors.ts';

export function apiKeyOf(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const key = req.headers['x-api-key'];
  return typeof key === 'string' ? key : undefined;
}

/**
 * The tenant a request acts for. Without configured keys Folio is open and everything is tenant
 * "default"; with keys, an unknown or missing key is a 401.
 */
export function tenantOf(req: FastifyRequest, apiKeys: ReadonlyMap<string, string>): string {
  if (apiKeys.size === 0) return 'default';
  const key = apiKeyOf(req);
  const tenant = key ? apiKeys.get(key) : undefined;
  if (!tenant) throw new FolioError('FOLIO_UNAUTHORIZED', key ? 'Unknown API key' : 'Send an API key as "Authorization: Bearer <key>" or "x-api-key"');
  return tenant;
}
