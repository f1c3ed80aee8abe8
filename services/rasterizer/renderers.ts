/** The rasterizer's renderer processes: one per document being rendered at a time. */
import type { Logger, Metrics } from '../../shared/operations/index.ts';
import { createHostPool, type HostPool } from '../../shared/render/index.ts';

// From source the child runs through tsx; from the build (dist/) the compiled .js runs directly.
const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './render-child.ts' : './render-child.js', import.meta.url);

export interface RendererOptions {
  /** Documents rendered at once (options.rasterizer.concurrency). */
  size: number;
  memoryMb: number;
  log?: Logger;
  metrics?: Pick<Metrics, 'renderersLost'>;
  /** Stand-in child entry, for tests. */
  entry?: URL;
}

export function createRenderers(o: RendererOptions): HostPool {
  return createHostPool({
    entry: o.entry ?? ENTRY,
    size: o.size,
    memoryMb: o.memoryMb,
    log: o.log,
    onLost: (cause) => o.metrics?.renderersLost.inc({ cause }),
  });
}
