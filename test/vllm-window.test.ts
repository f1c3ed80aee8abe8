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

// The metrics-driven window: scrapes that carry our own in-flight count.

/** A backend that runs up to `limit` requests and queues the rest, with `others` of another client's; we keep our window full. */
function scrape(w: AimdWindow, limit: number, now: number, others = 0, kvCacheUsage = 0.3) {
  const total = w.size + others;
  w.onMetrics({ running: Math.min(limit, total), waiting: Math.max(0, total - limit), kvCacheUsage, inFlight: w.size }, now);
}

test('with fresh gauges the window doubles per scrape with room, then settles on the batch limit + 1 queued', () => {
  const w = new AimdWindow({ min: 1, max: 160 });
  const sizes: number[] = [];
  for (let t = 1; t <= 10; t++) {
    scrape(w, 100, t * 1000);
    sizes.push(w.size);
  }
  // 128 is past the limit: the first scrape that sees 28 waiting holds, the second learns the limit.
  assert.deepEqual(sizes, [2, 4, 8, 16, 32, 64, 128, 128, 101, 101]);
  assert.equal(w.batchLimit, 100);
  assert.equal(w.metricsDriven, true);
});

test('two unequal backends each settle on their own limit (the case that halving and regrowing lost)', () => {
  const big = new AimdWindow({ min: 1, max: 160 });
  const small = new AimdWindow({ min: 1, max: 160 });
  for (let t = 1; t <= 10; t++) {
    scrape(big, 100, t * 1000);
    scrape(small, 32, t * 1000);
  }
  assert.equal(big.size, 101);
  assert.equal(small.size, 33);
});

test('one scrape with requests waiting (arrivals between two steps) holds the window and learns no limit', () => {
  const w = new AimdWindow({ min: 1, max: 160, initial: 40 });
  w.onMetrics({ running: 30, waiting: 10, inFlight: 40 }, 1000);
  assert.equal(w.size, 40);
  assert.equal(w.batchLimit, null);
  w.onMetrics({ running: 40, waiting: 0, inFlight: 40 }, 2000);
  assert.equal(w.size, 80, 'room again: slow start goes on');
});

test("other clients' requests are left to them: the window is the limit + 1 minus what they run or queue", () => {
  const w = new AimdWindow({ min: 1, max: 160 });
  for (let t = 1; t <= 10; t++) scrape(w, 100, t * 1000);
  assert.equal(w.size, 101);
  // Another client starts 30 requests: vLLM queues 31; the window gives them room in one step.
  scrape(w, 100, 11_000, 30);
  scrape(w, 100, 12_000, 30);
  assert.equal(w.size, 71);
  // They leave: nothing waits, and the window refills to the limit.
  scrape(w, 100, 13_000, 0);
  assert.equal(w.size, 101);
});

test('a backend that runs more than its learned limit raises it', () => {
  const w = new AimdWindow({ min: 1, max: 160 });
  for (let t = 1; t <= 10; t++) scrape(w, 32, t * 1000);
  assert.equal(w.size, 33);
  // Restarted with 64 sequences: all 33 run, nothing waits, and each scrape probes one page further.
  for (let t = 11; t <= 50; t++) scrape(w, 64, t * 1000);
  assert.equal(w.batchLimit, 64);
  assert.equal(w.size, 65);
});

test('after a 503 or timeout the gauges do not regrow the window for five decrease intervals', () => {
  const w = new AimdWindow({ min: 1, max: 160, decreaseIntervalMs: 1000 });
  for (let t = 1; t <= 10; t++) scrape(w, 100, t * 1000);
  w.onOverload('unavailable', 10_500);
  assert.equal(w.size, 50);
  scrape(w, 100, 11_000);
  scrape(w, 100, 15_000);
  assert.equal(w.size, 50);
  scrape(w, 100, 15_500);
  assert.equal(w.size, 101);
});

test('a nearly full KV cache holds the metrics-driven window too', () => {
  const w = new AimdWindow({ min: 1, max: 160, initial: 8 });
  scrape(w, 100, 1000, 0, 0.95);
  assert.equal(w.size, 8);
  scrape(w, 100, 2000, 0, 0.5);
  assert.equal(w.size, 16);
});

test('while gauges are fresh the latency brake is off; once they go stale it applies again', () => {
  const w = new AimdWindow({ min: 1, max: 160, initial: 4, latencyTolerance: 2 });
  w.onMetrics({ running: 4, waiting: 0, kvCacheUsage: 0.1, inFlight: 4 }, 1000); // doubles to 8, fresh for 16 completions
  succeed(w, 1, 1000, 100); // 10 ms/token, the best
  succeed(w, 4, 5000, 100); // 50 ms/token: a bigger batch's slower steps, but vLLM says room
  assert.equal(w.size, 13);
  succeed(w, 11, 5000, 100); // the scrape no longer covers these: the brake holds
  const held = w.size;
  succeed(w, 10, 5000, 100);
  assert.equal(w.metricsDriven, false);
  assert.equal(w.size, held);
});

test('two OCR replicas on one backend hold its limit + 1 between them (each sees the other as another client)', () => {
  const a = new AimdWindow({ min: 1, max: 160 });
  const b = new AimdWindow({ min: 1, max: 160 });
  const seen = (w: AimdWindow, other: AimdWindow, now: number) => {
    const total = w.size + other.size;
    w.onMetrics({ running: Math.min(100, total), waiting: Math.max(0, total - 100), kvCacheUsage: 0.3, inFlight: w.size }, now);
  };
  for (let t = 1; t <= 20; t++) {
    seen(a, b, t * 1000);
    seen(b, a, t * 1000 + 500);
  }
  // Not an equal split (pages come from one shared queue, so throughput does not care), but no overshoot.
  assert.deepEqual([a.size, b.size], [37, 64]);
});
