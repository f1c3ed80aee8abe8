import { createHash } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import type { JobOptions } from '../bus/messages.ts';

/** Options that change the output; priority and the cache switch itself do not. */
function outputOptions(o: JobOptions) {
  const { priority: _p, cache: _c, ...rest } = o;
  return Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The same bytes with the same options give the same result: the cache maps content hash +
 * output options (+ tenant, so tenants never see each other's jobs) to a completed job id.
 */
export function cacheKey(tenant: string, sha256: string, options: JobOptions): string {
  return createHash('sha256')
    .update(JSON.stringify([tenant, sha256, outputOptions(options)]))
    .digest('hex');
}

export async function lookupCachedJob(kv: KV, key: string): Promise<string | null> {
  const e = await kv.get(key);
  return e && e.operation === 'PUT' && e.length > 0 ? e.string() : null;
}

export async function rememberJob(kv: KV, key: string, jobId: string): Promise<void> {
  await kv.put(key, jobId);
}
