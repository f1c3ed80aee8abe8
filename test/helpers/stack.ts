import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../shared/config/index.ts';
import { startStack, type ServiceName, type Stack } from '../../services/all/stack.ts';
import { startVllmSimulator } from '../../tools/vllm-sim/server.ts';
import { startNats, type TestNats } from './nats-server.ts';

export interface TestStack extends Stack {
  nats: TestNats;
  sim?: Awaited<ReturnType<typeof startVllmSimulator>>;
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * A real nats-server on a free port, the services in this process (all, or the ones named), and
 * unless told otherwise the vLLM simulator as the OCR backend (fast and deterministic).
 */
export async function startTestStack(
  o: {
    env?: Record<string, string>;
    services?: ServiceName[];
    engine?: 'vllm-sim' | 'cpu';
    nats?: TestNats;
    sim?: Parameters<typeof startVllmSimulator>[0];
  } = {},
): Promise<TestStack> {
  const nats = o.nats ?? (await startNats());
  const sim = (o.engine ?? 'vllm-sim') === 'vllm-sim' ? await startVllmSimulator({ prefillMs: 5, msPerToken: 0.05, ...o.sim }) : undefined;
  const env: Record<string, string> = {
    NATS_URL: nats.url,
    FOLIO_TMP_DIR: mkdtempSync(path.join(os.tmpdir(), 'folio-test-')),
    FOLIO_ACK_WAIT_MS: '3000',
    FOLIO_RETRY_BASE_MS: '100',
    FOLIO_RATE_LIMIT_MAX: '0',
    FOLIO_CPU_WORKERS: '1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ...(sim ? { VLLM_BASE_URLS: sim.url } : { FOLIO_ENGINE: 'cpu' }),
    ...o.env,
  };
  const stack = await startStack(loadConfig(env), { services: o.services, port: 0 });
  return {
    ...stack,
    nats,
    sim,
    env,
    async close() {
      await stack.stop();
      await sim?.close();
      if (!o.nats) await nats.destroy();
    },
  };
}

/** Polls GET /v1/jobs/:id until the job is terminal. */
export async function waitForTerminal(baseUrl: string, id: string, timeoutMs = 60_000, headers: Record<string, string> = {}) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${baseUrl}/v1/jobs/${id}`, { headers });
    const body = await res.json();
    if (['completed', 'partial', 'failed', 'cancelled'].includes(body.status)) return body;
    if (Date.now() > until) throw new Error(`job ${id} still ${body.status} after ${timeoutMs} ms: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** POSTs a file as multipart/form-data with optional fields. */
export async function upload(
  baseUrl: string,
  route: string,
  file: Buffer,
  opts: { filename?: string; type?: string; fields?: Record<string, string>; headers?: Record<string, string> } = {},
) {
  const form = new FormData();
  for (const [k, v] of Object.entries(opts.fields ?? {})) form.append(k, v);
  form.append('file', new Blob([new Uint8Array(file)], { type: opts.type ?? 'application/octet-stream' }), opts.filename ?? 'upload.bin');
  return fetch(`${baseUrl}${route}`, { method: 'POST', body: form, headers: opts.headers });
}
