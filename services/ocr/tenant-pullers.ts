import type { JetStreamManager } from '@nats-io/jetstream';
import {
  type RunningConsumer,
  ensureTenantPageConsumer,
  type JetStreamSettings,
  Consumers,
  Priority,
  Streams,
  Subjects,
  parsePageSubject,
  type Priority as PriorityName,
} from '../../shared/bus/index.ts';
import type { Logger } from '../../shared/operations/index.ts';

/** A tenant's consumer is re-created if missing (e.g. removed after an idle hour) within this long. */
const ENSURE_EVERY_MS = 60_000;

export interface TenantPullerOptions {
  jsm: JetStreamManager;
  settings: JetStreamSettings;
  consumer: RunningConsumer;
  log: Logger;
  /** How often the pages stream is asked which tenants have pages waiting. */
  intervalMs?: number;
  /** A tenant's puller stops after this long with nothing waiting (its durable consumer stays). */
  idleMs?: number;
}

/**
 * Fair share between tenants: each tenant's pages have their own subject and durable consumer,
 * and this process keeps one puller per (priority, tenant) that has pages waiting. Each puller
 * holds at most one page while it waits for a slot, and slots are granted by priority, then in
 * arrival order, so free slots go round-robin across tenants: a tenant's 5-page job is served
 * between the pages of another tenant's 5,000-page batch instead of after them.
 */
export function startTenantPullers(o: TenantPullerOptions): { refresh(): Promise<void>; stop(): void } {
  const intervalMs = o.intervalMs ?? 500;
  const idleMs = o.idleMs ?? 10 * 60_000;
  const lastSeen = new Map<string, number>();
  let running: Promise<void> | undefined;

  // When each consumer was last created-or-checked: once a minute per tenant, not on every pass.
  const ensuredAt = new Map<string, number>();

  const discover = async () => {
    const info = await o.jsm.streams.info(Streams.pages, { subjects_filter: Subjects.allPagesReady });
    const now = Date.now();
    const waiting = new Map<string, [PriorityName, string]>();
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const parsed = parsePageSubject(subject);
      if (parsed) waiting.set(Consumers.ocr(parsed.priority, parsed.tenant), [parsed.priority, parsed.tenant]);
    }
    for (const [name, [priority, tenant]] of waiting) {
      if (now - (ensuredAt.get(name) ?? 0) > ENSURE_EVERY_MS) {
        await ensureTenantPageConsumer(o.jsm, o.settings, priority, tenant);
        ensuredAt.set(name, now);
      }
      if (!lastSeen.has(name)) o.log.debug({ tenant, priority }, 'pulling for tenant');
      lastSeen.set(name, now);
      // Interactive pullers get the better slot priority, whatever the tenant.
      o.consumer.add(name, Priority.indexOf(priority));
    }
    for (const [name, seen] of lastSeen) {
      if (now - seen > idleMs) {
        o.consumer.remove(name);
        lastSeen.delete(name);
        ensuredAt.delete(name);
      }
    }
  };

  const refresh = () => {
    running ??= discover()
      .catch((err) => o.log.warn({ err: (err as Error).message }, 'tenant discovery failed; retrying'))
      .finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void refresh(), intervalMs);
  void refresh();
  return { refresh, stop: () => clearInterval(timer) };
}
