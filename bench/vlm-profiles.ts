// Per-profile overhead of the vLLM engine: what Folio itself spends on a page for each model
// profile (image preparation, request building, HTTP, parsing), measured against the simulator
// with a zero-time model, so model time is out of the figure; and the parser alone on the real
// golden answers. Ratios to the DeepSeek-OCR profile in the same run (shared, noisy machines).
// `node --import tsx bench/vlm-profiles.ts` prints JSON.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { createVllmEngine } from '../services/ocr/engines/vllm/engine.ts';
import { PROFILE_NAMES, PROFILES, type ProfileName } from '../services/ocr/engines/vllm/profiles.ts';
import { startVllmSimulator } from '../tools/vllm-sim/server.ts';

const PAGES = Number(process.env.PAGES ?? 20);
const W = 1700;
const H = 2200;

async function enginePerPage(name: ProfileName, image: Buffer): Promise<{ msPerPage: number; requestsPerPage: number }> {
  const p = PROFILES[name];
  const sim = await startVllmSimulator({
    model: p.hfModel,
    prefillMs: 0,
    msPerToken: 0,
    tokensPerPage: 200,
    maxModelLen: name.startsWith('deepseek') ? 8192 : 32_768,
  });
  const engine = await createVllmEngine({
    baseUrls: [sim.url],
    model: p.hfModel,
    profiles: [name],
    apiKey: 'x',
    maxTokens: 4000,
    timeoutMs: 60_000,
    maxWindow: 1,
    minWindow: 1,
    metricsIntervalMs: 0,
  });
  const input = { page: 1, image, width: W, height: H, task: 'markdown' as const };
  try {
    await engine.recognize(input, new AbortController().signal); // warm-up
    const t = performance.now();
    for (let i = 0; i < PAGES; i++) await engine.recognize(input, new AbortController().signal);
    const ms = performance.now() - t;
    return { msPerPage: ms / PAGES, requestsPerPage: (sim.stats().received - 1) / PAGES };
  } finally {
    await engine.close();
    await sim.close();
  }
}

const GOLDEN: Partial<Record<ProfileName, string>> = {
  chandra: 'chandra-2',
  'deepseek-ocr': 'deepseek-ocr',
  'olmocr-2': 'olmocr-2',
  'nanonets-ocr2': 'nanonets-ocr2',
  'paddleocr-vl': 'paddleocr-vl',
  plain: 'glm-ocr',
};

function parseMicros(name: ProfileName): number | null {
  const dir = GOLDEN[name];
  if (!dir) return null;
  const p = PROFILES[name];
  const raws = ['p07', 'p20'].map((pg) => readFileSync(new URL(`../test/vlm-golden/${dir}/plos-${pg}.txt`, import.meta.url), 'utf8'));
  const n = 200;
  const t = performance.now();
  for (let i = 0; i < n; i++) for (const raw of raws) p.parse(raw, W, H, { page: 1, task: 'markdown', prompt: p.prompts.markdown });
  return ((performance.now() - t) * 1000) / (n * raws.length);
}

export async function benchVlmProfiles(): Promise<Record<string, unknown>> {
  // A real scanned page (the English fixture) at 200 dpi Letter size.
  const image = await sharp(readFileSync(new URL('../test/fixtures/english_scan.jpg', import.meta.url)))
    .resize(W, H, { fit: 'fill' })
    .png()
    .toBuffer();
  const out: Record<string, unknown> = { pages: PAGES, page: `${W}x${H}`, pngBytes: image.length };
  const rows: Record<string, { msPerPage: number; requestsPerPage: number; vsDeepseek?: number; parseMicrosPerRealPage: number | null }> = {};
  // Two passes; the second is reported (the first warms the JIT, sharp and the sockets).
  for (const pass of [1, 2])
    for (const name of PROFILE_NAMES)
      if (pass === 2 || name === PROFILE_NAMES[0]) rows[name] = { ...(await enginePerPage(name, image)), parseMicrosPerRealPage: parseMicros(name) };
  for (const name of PROFILE_NAMES) rows[name].vsDeepseek = Math.round((rows[name].msPerPage / rows['deepseek-ocr'].msPerPage) * 100) / 100;
  for (const r of Object.values(rows)) {
    r.msPerPage = Math.round(r.msPerPage * 10) / 10;
    if (r.parseMicrosPerRealPage !== null) r.parseMicrosPerRealPage = Math.round(r.parseMicrosPerRealPage);
  }
  out.profiles = rows;
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchVlmProfiles(), null, 2));
