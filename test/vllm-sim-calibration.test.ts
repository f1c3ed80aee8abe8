// The simulator's defaults are calibrated to the vendor's figures for DeepSeek-OCR on one A100-40G
// (README "Performance"): ~2,500 output tokens/s at 100 concurrent sequences, ~1,000 tokens a page,
// 100 tokens/s single-stream (an assumption), and timeScale speeds the clock without changing ratios.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startVllmSimulator } from '../tools/vllm-sim/server.ts';
import { BatchScheduler } from '../tools/vllm-sim/scheduler.ts';
import { buildRequestBody, TASK_PROMPTS } from '../services/ocr/engines/vllm/deepseek.ts';

const SCALE = 40;
const image = readFileSync(new URL('./fixtures/english.png', import.meta.url));
const body = JSON.stringify(buildRequestBody({ model: 'deepseek-ai/DeepSeek-OCR', image, prompt: TASK_PROMPTS.markdown, maxTokens: 2000 }));

async function run(url: string, concurrency: number, total: number): Promise<{ seconds: number; tokens: number }> {
  let next = 0;
  let tokens = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) {
        const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        assert.equal(r.status, 200);
        tokens += (await r.json()).usage.completion_tokens;
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, tokens };
}

test('defaults: 1,000 tokens a page, 100 tokens/s single-stream, ~2,500 tokens/s at 100 sequences (clock ×40)', async (t) => {
  const sim = await startVllmSimulator({ timeScale: SCALE });
  t.after(() => sim.close());
  // The first fetch of a process sets up its HTTP client (~100 ms here, 4 s of model time at ×40):
  // start-up, not the simulator's speed.
  await fetch(`${sim.url}/metrics`).then((r) => r.text());
  const single = await run(sim.url, 1, 1);
  assert.equal(single.tokens, 1000);
  // 150 ms prefill + 1,000 × 10 ms = 10.15 s unscaled; HTTP and a loaded machine only add.
  const singleRealS = single.seconds * SCALE;
  assert.ok(singleRealS >= 10.1 && singleRealS < 14, `single page took ${singleRealS.toFixed(2)} s (model time)`);
});

test('a full batch: 100 sequences of 1,000 tokens make ~2,500 tokens/s of model time (the scheduler alone, clock ×40)', async () => {
  const o = { maxNumSeqs: 100, prefillMs: 150 / SCALE, msPerToken: 10 / SCALE, batchSlowdown: 0.03, kvCapacityTokens: 1e9 };
  const s = new BatchScheduler(o);
  const a = s.integrals();
  await Promise.all(Array.from({ length: 100 }, () => s.submit(930, 1000).done));
  const b = s.integrals();
  s.close();
  // 150 ms + 1,000 × 10 × (1 + 0.03 × 99) ms = 39.85 s of model time for 100,000 tokens: 2,509 tokens/s.
  const tokensPerS = (((b.generatedTokens - a.generatedTokens) / (b.atMs - a.atMs)) * 1000) / SCALE;
  assert.ok(tokensPerS > 2300 && tokensPerS < 2520, `model-time throughput ${tokensPerS.toFixed(0)} tokens/s`);
  const meanRunning = (b.runningMs - a.runningMs) / (b.atMs - a.atMs);
  assert.ok(meanRunning > 95 && meanRunning <= 100, `mean running ${meanRunning.toFixed(1)}`);
});

test('integrals: time-weighted mean waiting counts requests beyond max-num-seqs', async (t) => {
  const sim = await startVllmSimulator({ maxNumSeqs: 2, prefillMs: 0, msPerToken: 1, tokensPerPage: 100 });
  t.after(() => sim.close());
  const a = sim.stats().integrals;
  await run(sim.url, 4, 4); // two run, two wait ~100 ms, then run ~100 ms
  const b = sim.stats().integrals;
  const meanWaiting = (b.waitingMs - a.waitingMs) / (b.atMs - a.atMs);
  assert.ok(meanWaiting > 0.3 && meanWaiting < 1.5, `mean waiting ${meanWaiting.toFixed(2)}`);
});
