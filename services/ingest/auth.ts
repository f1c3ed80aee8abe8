import type { FastifyRequest } from 'fastify';
import type { ApiKeyring } from '../../shared/config/index.ts';

export type AuthResult = { ok: true; tenant: string; keyId?: string } | { ok: false; reason: 'missing' | 'unknown' };

function firstHeader(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.trim() || undefined;
}

/** The key a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function apiKeyOf(req: FastifyRequest): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(firstHeader(req.headers.authorization) ?? '')?.[1];
  return bearer ?? firstHeader(req.headers['x-api-key']);
}

/**
 * Who a request acts for. Without configured keys Folio is open and everything is tenant
 * "default"; with keys, a missing or unknown key fails (the caller answers 401 after counting
 * the attempt against the client's address).
 */
export function authenticate(req: FastifyRequest, keys: ApiKeyring): AuthResult {
  if (keys.size === 0) return { ok: true, tenant: 'default' };
  const presented = apiKeyOf(req);
  if (!presented) return { ok: false, reason: 'missing' };
  const key = keys.find(presented);
  return key ? { ok: true, tenant: key.tenant, keyId: key.keyId } : { ok: false, reason: 'unknown' };
}
