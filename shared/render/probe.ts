/**
 * Ingest's upload checks (page count, encryption, pixel bombs: shared/render/source-probe.ts) run in a
 * renderer process with a deadline and a memory cap, so a hostile upload costs a child process,
 * never ingest's event loop or the process itself. Only types come from source-probe.ts here:
 * importing it would load pdf.js into this process (PLATFORM.md: it replaces JSON and Array.push).
 */
import { FolioError } from '../operations/errors.ts';
import type { Logger } from '../operations/logger.ts';
import type { Metrics } from '../operations/metrics.ts';
import type { SourceLimits, SourceProbe } from './source-probe.ts';
import { createHostPool, type HostPool } from './pool.ts';

const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './probe-child.ts' : './probe-child.js', import.meta.url);

export interface ProberOptions {
  workers: number;
  memoryMb: number;
  timeoutMs: number;
  log?: Logger;
  metrics?: Pick<Metrics, 'renderersLost'>;
  /** Processes unused this long are stopped (default 5 minutes). */
  idleMs?: number;
}

export interface SourceProber {
  probe(path: string, mediaType: string, limits: SourceLimits): Promise<SourceProbe>;
  close(): Promise<void>;
}

export function createSourceProber(o: ProberOptions): SourceProber {
  const pool: HostPool = createHostPool({
    entry: ENTRY,
    size: o.workers,
    memoryMb: o.memoryMb,
    idleMs: o.idleMs,
    log: o.log,
    onLost: (cause) => o.metrics?.renderersLost.inc({ cause }),
  });
  return {
    probe: (path, mediaType, limits) =>
      pool.run<SourceProbe>(
        'probe',
        { path, mediaType, limits },
        {
          timeoutMs: o.timeoutMs,
          timeoutError: () => new FolioError('FOLIO_RENDER_TIMEOUT', `The document could not be checked within ${o.timeoutMs} ms`),
        },
      ),
    close: () => pool.close(),
  };
}

interface ProberSettings {
  config: { render: { probeWorkers: number; memoryMb: number; openTimeoutMs: number } };
  log?: Logger;
  metrics?: Pick<Metrics, 'renderersLost'>;
}

// Renderer processes are a per-process resource (like libuv's pool): every ingest in this
// process with the same settings shares them instead of each holding its own idle children.
const shared = new Map<string, SourceProber>();

/** The process-wide prober for these settings, created on first use. */
export function sharedProber(s: ProberSettings): SourceProber {
  const c = s.config;
  const key = `${c.render.probeWorkers}/${c.render.memoryMb}/${c.render.openTimeoutMs}`;
  let prober = shared.get(key);
  if (!prober) {
    prober = createSourceProber({
      workers: c.render.probeWorkers,
      memoryMb: c.render.memoryMb,
      timeoutMs: c.render.openTimeoutMs,
      log: s.log,
      metrics: s.metrics,
      idleMs: 60_000,
    });
    shared.set(key, prober);
  }
  return prober;
}
