// The rasterizer side of bench/rasterizer.ts, as the service runs in production: the compiled
// modules (dist/, `npm run build`) on plain node, so tsx's own memory and start-up are not counted.
// Renders one PDF the way the rasterizer service does and reports on stdout.
import { readFileSync } from 'node:fs';
import { isFailedRender, renderPages } from '../dist/services/rasterizer/rasterize.js';
import { createRenderers } from '../dist/services/rasterizer/renderers.js';

const [pdf, dpi] = [process.argv[2], Number(process.argv[3])];
const renderers = createRenderers({ size: 1, memoryMb: 4096 });
const opts = { dpi, maxLongSide: 10_000, maxInputPixels: 200e6, maxPages: 10_000, openTimeoutMs: 600_000, pageTimeoutMs: 600_000 };
// Start the renderer process first (a one-page render), as a running service has it started.
for await (const _ of renderPages(renderers, { path: pdf }, 'application/pdf', { ...opts, pages: '1' }));
const baselineRssMb = process.memoryUsage.rss() / 1048576; // the service process; the renderer is another process
const t0 = performance.now();
let pages = 0;
let firstPageMs = 0;
let pngBytes = 0;
for await (const page of renderPages(renderers, { path: pdf }, 'application/pdf', opts)) {
  if (isFailedRender(page)) throw page.error;
  if (pages++ === 0) firstPageMs = performance.now() - t0;
  pngBytes += page.png.length;
}
const ms = performance.now() - t0;
const host = await renderers.acquire();
const rendererPeakRssMb = peakRssKb(host.pid()) / 1024; // VmHWM: the renderer process's high-water mark
renderers.release(host);
await renderers.close();
// maxRSS is in KiB on Linux.
const serviceRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(
  JSON.stringify({ ms, pages, firstPageMs, pngBytes, baselineRssMb, peakRssMb: serviceRssMb + rendererPeakRssMb, rendererPeakRssMb, serviceRssMb }),
);

function peakRssKb(pid) {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
