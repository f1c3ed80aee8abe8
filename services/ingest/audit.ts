import type { Logger } from '../../shared/operations/index.ts';

export type AuditEvent =
  | 'auth.denied' // missing or unknown key (401)
  | 'origin.denied' // cross-site unsafe request (403)
  | 'rate.limited' // token bucket empty (429)
  | 'quota.refused' // a tenant quota or edge cap (429)
  | 'key.used'; // an authenticated request that changes something

export interface AuditFields {
  tenant?: string;
  keyId?: string;
  ip?: string;
  method?: string;
  route?: string;
  reason?: string;
  [k: string]: unknown;
}

export interface Audit {
  record(event: AuditEvent, fields: AuditFields): void;
}

/**
 * Audit lines on the `audit` child logger: who was refused and why, and which key (by its id,
 * never the key) did what. Refusals of one client for one reason are written at most once per
 * `everyMs`, with a count of the ones folded in, so a flood of bad requests cannot flood the log.
 */
export function createAudit(log: Logger, everyMs = 10_000, now = Date.now): Audit {
  const audit = log.child({ component: 'audit' });
  const last = new Map<string, { at: number; suppressed: number }>();
  const sweeper = setInterval(
    () => {
      const before = now() - everyMs;
      for (const [k, v] of last) if (v.at < before && v.suppressed === 0) last.delete(k);
    },
    Math.max(1000, everyMs),
  ).unref();
  void sweeper;
  return {
    record(event, fields) {
      if (event === 'key.used') return audit.info({ event, ...fields }, event);
      const k = `${event}|${fields.tenant ?? ''}|${fields.ip ?? ''}|${fields.reason ?? ''}`;
      const seen = last.get(k);
      const t = now();
      if (seen && t - seen.at < everyMs) {
        seen.suppressed++;
        return;
      }
      last.set(k, { at: t, suppressed: 0 });
      audit.warn({ event, ...fields, ...(seen?.suppressed ? { suppressed: seen.suppressed } : {}) }, event);
    },
  };
}
