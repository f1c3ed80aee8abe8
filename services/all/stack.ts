// The one-machine composition root: the four services in one process sharing one NATS
// connection and one metrics registry. This is the only module that imports several services.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../shared/config/index.ts';
import { startLocalNats } from '../../shared/bus/index.ts';
import { createRuntime, type Runtime, type Stoppable } from '../../shared/operations/index.ts';
import { startAssembler } from '../assembler/service.ts';
import { startIngest } from '../ingest/service.ts';
import { startOcr } from '../ocr/service.ts';
import { startRasterizer } from '../rasterizer/service.ts';

/** The project root (holding nats.conf), whether running from source or from dist/. */
function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'nats.conf')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

export type ServiceName = 'ingest' | 'rasterizer' | 'ocr' | 'assembler';
export const ALL_SERVICES: ServiceName[] = ['ingest', 'rasterizer', 'ocr', 'assembler'];

export interface Stack {
  url: string;
  natsUrl: string;
  rt: Runtime;
  stop(): Promise<void>;
}

export async function startStack(config: Readonly<Config>, opts: { services?: ServiceName[]; port?: number } = {}): Promise<Stack> {
  const services = opts.services ?? ALL_SERVICES;
  let natsUrl = config.nats.url;
  let localNats: Awaited<ReturnType<typeof startLocalNats>> | undefined;
  if (!natsUrl) {
    // Authenticated too: fresh random passwords per start, handed to the in-process services (shared/bus/local-nats.ts).
    localNats = await startLocalNats({
      bin: config.nats.serverBin,
      confPath: path.join(projectRoot(), 'nats.conf'),
      dataDir: config.dataDir,
      port: config.nats.localPort,
      tenants: config.ingest.apiKeys.tenants,
    });
    natsUrl = localNats.url;
    config = { ...config, nats: { ...config.nats, auth: localNats.auth } };
  }
  const rt = await createRuntime(config, 'folio', natsUrl);
  const running: Stoppable[] = [];
  if (services.includes('assembler')) running.push(startAssembler(rt));
  if (services.includes('ocr')) running.push(await startOcr(rt));
  if (services.includes('rasterizer')) running.push(startRasterizer(rt));
  let url = '';
  if (services.includes('ingest')) {
    const ingest = await startIngest(rt, { host: config.ingest.host, port: opts.port ?? config.ingest.port });
    url = ingest.url;
    running.unshift(ingest);
  }
  return {
    url,
    natsUrl,
    rt,
    async stop() {
      for (const s of running) await s.stop().catch(() => {});
      await rt.bus.nc.drain().catch(() => {});
      localNats?.child.kill('SIGTERM');
    },
  };
}
