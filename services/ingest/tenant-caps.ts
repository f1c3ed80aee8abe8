import { FolioError } from '../../shared/operations/index.ts';

export type CapName = 'uploads' | 'sync_waits' | 'streams';

/**
 * Per-tenant caps on what holds a connection open in this replica: uploads being received, sync
 * calls waiting, SSE streams. They protect this process's sockets and memory, so they are counted
 * here and not across replicas (a load balancer spreads a tenant's connections anyway).
 */
export class TenantCaps {
  private readonly held = new Map<string, number>();

  /** Slots held per cap across all tenants, checked against `replicaLimits` (load shedding). */
  private readonly total = new Map<CapName, number>();

  constructor(
    private readonly limits: Record<CapName, number>,
    private readonly replicaLimits: Partial<Record<CapName, number>> = {},
  ) {}

  /**
   * Takes a slot or throws: FOLIO_QUOTA_EXCEEDED (429) past the tenant's cap, FOLIO_OVERLOADED (503)
   * past the replica's cap for all tenants together. The returned function gives it back (once).
   */
  acquire(cap: CapName, tenant: string): () => void {
    const key = `${cap}|${tenant}`;
    const n = this.held.get(key) ?? 0;
    const limit = this.limits[cap];
    const all = this.total.get(cap) ?? 0;
    const replicaLimit = this.replicaLimits[cap] ?? Infinity;
    if (all >= replicaLimit) {
      throw new FolioError('FOLIO_OVERLOADED', `This server is receiving its maximum of ${replicaLimit} at once; retry shortly`, {
        cap,
        limit: replicaLimit,
        retryAfterS: 1,
      });
    }
    if (n >= limit) {
      const what = { uploads: 'concurrent uploads', sync_waits: 'concurrent synchronous calls', streams: 'open event streams' }[cap];
      throw new FolioError('FOLIO_QUOTA_EXCEEDED', `At most ${limit} ${what} per tenant`, { quota: cap, limit, used: n, retryAfterS: 1 });
    }
    this.held.set(key, n + 1);
    this.total.set(cap, all + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total.set(cap, (this.total.get(cap) ?? 1) - 1);
      const left = (this.held.get(key) ?? 1) - 1;
      if (left <= 0) this.held.delete(key);
      else this.held.set(key, left);
    };
  }

  inUse(cap: CapName, tenant: string): number {
    return this.held.get(`${cap}|${tenant}`) ?? 0;
  }
}
