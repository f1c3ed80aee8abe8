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

test('while vLLM says there is room (nothing waiting, KV cache below the mark), latency per token that grows with the batch does not stop growth', () => {
  // vLLM's decode step grows with the batch by design: 10 ms/token alone, ~40 ms/token at 100
  // sequences, yet total tokens/s still rise. Its own gauges are the better judge of "full".
  const w = new AimdWindow({ min: 1, max: 100, initial: 4, latencyTolerance: 3 });
  succeed(w, 2, 1000, 100); // 10 ms/token alone
  for (let t = 0; w.size < 100 && t < 1000; t++) {
    w.onMetrics({ running: w.size, waiting: 0, kvCacheUsage: 0.4 }, t * 1000);
    succeed(w, 3, 4000, 100); // 40 ms/token: four times the best, past the tolerance
  }
  assert.equal(w.size, 100, 'the window fills the backend to its sequence limit');
  assert.equal(w.vllmSaysRoom, true);
});

test('the room signal goes stale: a window of completions without a fresh scrape brings the latency brake back', () => {
  const w = new AimdWindow({ min: 1, max: 64, initial: 8, latencyTolerance: 2 });
  succeed(w, 1, 1000, 100); // best: 10 ms/token
  w.onMetrics({ running: 8, waiting: 0, kvCacheUsage: 0.3 }, 0);
  succeed(w, 40, 5000, 100); // 50 ms/token, and no scrape since
  assert.equal(w.vllmSaysRoom, false);
  const held = w.size;
  assert.ok(held < 40, `grew to ${held} on one old scrape`);
  succeed(w, 20, 5000, 100);
  assert.equal(w.size, held, 'held by the latency brake once the scrape is stale');
});

test('room needs both gauges: no KV-cache gauge (an older server) keeps the latency brake', () => {
  const w = new AimdWindow({ min: 1, max: 64, initial: 4, latencyTolerance: 2 });
  succeed(w, 1, 1000, 100);
  for (let t = 0; t < 20; t++) {
    w.onMetrics({ running: w.size, waiting: 0 }, t * 1000);
    succeed(w, 3, 5000, 100);
  }
  assert.equal(w.vllmSaysRoom, false);
  assert.ok(w.size <= 8, `grew to ${w.size} without vLLM saying there is room`);
});

test('with room said, the window still backs off when vLLM queues, on KV pressure, on 503 and on timeouts', () => {
  const w = new AimdWindow({ min: 1, max: 128, initial: 100, decreaseIntervalMs: 1000 });
  w.onMetrics({ running: 100, waiting: 0, kvCacheUsage: 0.5 }, 0);
  w.onMetrics({ running: 100, waiting: 12 }, 1000);
  assert.equal(w.size, 88, 'twelve queued: twelve fewer');
  assert.equal(w.vllmSaysRoom, false);
  succeed(w, 20, 4000, 100);
  assert.equal(w.size, 88, 'no growth while requests wait');

  w.onMetrics({ running: 88, waiting: 0, kvCacheUsage: 0.95 }, 2000);
  assert.equal(w.vllmSaysRoom, false, 'a nearly full KV cache is no room');
  succeed(w, 20, 4000, 100);
  assert.equal(w.size, 88);

  w.onMetrics({ running: 88, waiting: 0, kvCacheUsage: 0.5 }, 3000);
  w.onOverload('unavailable', 3000);
  assert.equal(w.size, 44);
  w.onOverload('timeout', 4500);
  assert.equal(w.size, 22);
});

test('one queue is one decrease: scrapes of the same queue while the overshoot drains do not shrink the window again', () => {
  const w = new AimdWindow({ min: 1, max: 128, initial: 128, decreaseIntervalMs: 1000 });
  w.onMetrics({ running: 100, waiting: 28 }, 0);
  assert.equal(w.size, 100);
  // Pages last far longer than a scrape interval: the 28 extra stay queued for a while.
  for (let t = 1000; t <= 10_000; t += 1000) w.onMetrics({ running: 100, waiting: 28 - t / 1000 }, t);
  assert.equal(w.size, 100, 'still the first overshoot draining');
  // Once the 128 pages in flight at the decrease are through, a queue is news again.
  succeed(w, 127, 4000, 100);
  w.onMetrics({ running: 100, waiting: 5 }, 19_000);
  assert.equal(w.size, 100);
  succeed(w, 1, 4000, 100);
  w.onMetrics({ running: 100, waiting: 5 }, 20_000);
  assert.equal(w.size, 95);
});
