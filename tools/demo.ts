// The README's main job: start the whole stack on this machine (its own nats-server, the embedded
// CPU engine unless VLLM_BASE_URLS is set), OCR a sample document end to end, print its Markdown.
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../shared/config/index.ts';
import { startStack } from '../services/all/stack.ts';

const file = process.argv[2] ?? 'test/fixtures/english_scan.jpg';
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

const env = {
  LOG_LEVEL: 'warn',
  FOLIO_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'folio-demo-')),
  FOLIO_LOCAL_NATS_PORT: String(await freePort()),
  FOLIO_HTTP_HOST: '127.0.0.1',
  ...process.env,
  NATS_URL: process.env.NATS_URL ?? '',
};
const config = loadConfig(env);
const started = Date.now();
const stack = await startStack(config, { port: 0 });
const engine =
  config.ocr.engine === 'vllm'
    ? `vLLM at ${config.ocr.vllm.baseUrls.join(', ')}`
    : `embedded CPU engine (PaddleOCR PP-OCRv4 on onnxruntime, ${config.ocr.cpu.workers} worker(s))`;
console.error(`Folio up at ${stack.url} in ${Date.now() - started} ms — OCR engine: ${engine}; blob store: ${stack.rt.blobs.kind}`);

try {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(readFileSync(file))]), path.basename(file));
  const t0 = Date.now();
  const res = await fetch(`${stack.url}/v1/ocr?wait=600`, { method: 'POST', body: form });
  const body = await res.json();
  if (res.status !== 200 || !body.markdown) {
    console.error(`OCR did not complete: HTTP ${res.status}`, JSON.stringify(body, null, 2));
    process.exitCode = 1;
  } else {
    const engines = [...new Set((body.pageDetails ?? []).map((p: { engine?: string }) => p.engine))].join(', ');
    console.error(`${file}: ${body.pages.total} page(s), status ${body.status}, engine ${engines}, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    console.log(body.markdown);
  }
} finally {
  await stack.stop();
}
process.exit();
