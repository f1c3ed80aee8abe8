import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimdWindow } from '../services/ocr/engines/vllm/window.ts';
import { readVllmMetrics } from '../services/ocr/engines/vllm/metrics.ts';

/** n successes with the window full and a steady 10 ms/token. */
function succeed(w: AimdWindow, n: number, latencyMs = 1000, tokens = 100) {
  for (let i = 0; i < n; i++) w.onSuccess({ latencyMs, tokens, inFlight: w.size });
}

test('starts at the initial size, clamped to the bounds', () => {
  assert.equal(new AimdWindow({ min: 2, max: 16 }).size, 2);
  assert.equal(new AimdWindow({ min: 2, max: 16, initial: 8 }).size, 8);
  assert.equal(new AimdWindow({ min: 2, max: 16, initial: 100 }).size, 16);
  assert.equal(new AimdWindow({ min: 2, max: 16, initial: 0 }).size, 2);
});

test('slow start grows by one per success, never past max', () => {
  const w = new AimdWindow({ min: 1, max: 10 });
  succeed(w, 3);
  assert.equal(w.size, 4);
  succeed(w, 50);
  assert.equal(w.size, 10);
});

test('overload halves the window, not below min, once per interval', () => {
  const w = new AimdWindow({ min: 2, max: 64, initial: 32, decreaseIntervalMs: 1000 });
  w.onOverload('unavailable', 10_000);
  assert.equal(w.size, 16);
  // The rest of the same burst of timeouts is one congestion event.
  w.onOverload('timeout', 10_100);
  w.onOverload('timeout', 10_500);
  assert.equal(w.size, 16);
  w.onOverload('timeout', 11_100);
  assert.equal(w.size, 8);
  for (let t = 12_000; t < 30_000; t += 1000) w.onOverload('timeout', t);
  assert.equal(w.size, 2);
  assert.equal(w.lastOverload, 'timeout');
});

test('after the first overload growth is additive: about one page per full window', () => {
  const w = new AimdWindow({ min: 1, max: 64, initial: 16 });
  w.onOverload('unavailable', 0);
  assert.equal(w.size, 8);
  assert.equal(w.slowStart, false);
  succeed(w, 8);
  assert.equal(w.size, 8, 'eight successes add 8 × 1/8.x, just under one page');
  succeed(w, 2);
  assert.equal(w.size, 9);
});

test('vLLM queueing (waiting > 0) shrinks the window by what queued and stops growth until the queue drains', () => {
  const w = new AimdWindow({ min: 1, max: 32, initial: 8, decreaseIntervalMs: 1000 });
  w.onMetrics({ running: 8, waiting: 3 }, 5000);
  assert.equal(w.size, 5, 'three pages too many: three fewer');
  succeed(w, 20);
  assert.equal(w.size, 5, 'no growth while requests wait');
  w.onMetrics({ running: 5, waiting: 0 }, 5500);
  succeed(w, 6);
  assert.equal(w.size, 6);
});

test('a long queue halves the window at most', () => {
  const w = new AimdWindow({ min: 1, max: 64, initial: 40 });
  w.onMetrics({ running: 40, waiting: 30 }, 5000);
  assert.equal(w.size, 20);
});

test('a nearly full KV cache holds the window', () => {
  const w = new AimdWindow({ min: 1, max: 32, initial: 4, kvCacheHigh: 0.9 });
  w.onMetrics({ running: 4, waiting: 0, kvCacheUsage: 0.95 }, 0);
  succeed(w, 10);
  assert.equal(w.size, 4);
  w.onMetrics({ running: 4, waiting: 0, kvCacheUsage: 0.5 }, 1000);
  succeed(w, 1);
  assert.equal(w.size, 5);
});

test('per-token latency beyond the tolerance stops growth (and ends slow start)', () => {
  const w = new AimdWindow({ min: 1, max: 32, initial: 4, latencyTolerance: 2 });
  succeed(w, 2, 1000, 100); // 10 ms/token is the best seen
  assert.equal(w.size, 6);
  succeed(w, 30, 5000, 100); // 50 ms/token: more concurrency no longer pays
  assert.ok(w.size <= 8, `grew to ${w.size}`);
  assert.equal(w.slowStart, false);
  const held = w.size;
  succeed(w, 10, 5000, 100);
  assert.equal(w.size, held);
});

test('latency is compared per token: a long page is not a slow backend', () => {
  const w = new AimdWindow({ min: 1, max: 32, initial: 2, latencyTolerance: 2 });
  succeed(w, 1, 1000, 100); // 10 ms/token
  succeed(w, 1, 40_000, 4000); // a dense page: also 10 ms/token
  assert.equal(w.size, 4);
});

test('an idle window does not grow', () => {
  const w = new AimdWindow({ min: 1, max: 32, initial: 8 });
  for (let i = 0; i < 20; i++) w.onSuccess({ latencyMs: 1000, tokens: 100, inFlight: 2 });
  assert.equal(w.size, 8);
});

test('readVllmMetrics sums engines, prefers kv_cache_usage_perc, falls back to gpu_cache_usage_perc', () => {
  const text = [
    '# HELP vllm:num_requests_running Number of requests in model execution batches.',
    '# TYPE vllm:num_requests_running gauge',
    'vllm:num_requests_running{engine="0",model_name="deepseek-ai/DeepSeek-OCR"} 3.0',
    'vllm:num_requests_running{engine="1",model_name="deepseek-ai/DeepSeek-OCR"} 2.0',
    'vllm:num_requests_waiting{engine="0",model_name="m"} 1.0',
    'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25',
    'vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.5',
    'vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.9',
    'vllm:generation_tokens_total{engine="0",model_name="m"} 1234.0',
    'vllm:request_success_total{finished_reason="stop",model_name="a b"} 7.0',
  ].join('\n');
  assert.deepEqual(readVllmMetrics(text), { running: 5, waiting: 1, kvCacheUsage: 0.5, generationTokens: 1234, preemptions: undefined });
  const old = 'vllm:num_requests_running 1\nvllm:num_requests_waiting 0\nvllm:gpu_cache_usage_perc 0.7\n';
  assert.equal(readVllmMetrics(old)?.kvCacheUsage, 0.7);
  assert.equal(readVllmMetrics('# nothing here\nprocess_cpu_seconds_total 3\n'), null);
});
