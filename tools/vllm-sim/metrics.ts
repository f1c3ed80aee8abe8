/**
 * vllm-sim (test/benchmark tool): Prometheus text with vLLM's metric names, so the engine's
 * `/metrics` poller and dashboards can be exercised without a GPU.
 */

// vLLM's own bucket bounds for request latency histograms (seconds).
const LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

export class Histogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]) this.counts[i]++;
  }

  render(name: string, help: string, labels: string): string[] {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    LATENCY_BUCKETS.forEach((le, i) => lines.push(`${name}_bucket{${labels},le="${le.toFixed(1)}"} ${this.counts[i]}.0`));
    lines.push(`${name}_bucket{${labels},le="+Inf"} ${this.count}.0`, `${name}_count{${labels}} ${this.count}.0`, `${name}_sum{${labels}} ${this.sum}`);
    return lines;
  }
}

export interface MetricsSnapshot {
  model: string;
  running: number;
  waiting: number;
  kvCacheUsage: number;
  preemptions: number;
  finished: { stop: number; length: number; abort: number };
  promptTokens: number;
  generationTokens: number;
  e2e: Histogram;
  queue: Histogram;
}

export function renderMetrics(s: MetricsSnapshot): string {
  const labels = `engine="0",model_name="${s.model}"`;
  const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    `${name}{${labels}} ${fmt(value)}`,
  ];
  return [
    ...metric('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', s.running),
    ...metric('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', s.waiting),
    ...metric('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', s.kvCacheUsage),
    // The pre-0.10 name of the same gauge, still read by older dashboards and clients.
    ...metric('vllm:gpu_cache_usage_perc', 'gauge', 'GPU KV-cache usage. 1 means 100 percent usage.', s.kvCacheUsage),
    ...metric('vllm:num_preemptions_total', 'counter', 'Cumulative number of preemption from the engine.', s.preemptions),
    ...metric('vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', s.promptTokens),
    ...metric('vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.', s.generationTokens),
    '# HELP vllm:request_success_total Count of successfully processed requests.',
    '# TYPE vllm:request_success_total counter',
    ...(['stop', 'length', 'abort'] as const).map((r) => `vllm:request_success_total{${labels},finished_reason="${r}"} ${fmt(s.finished[r])}`),
    ...s.e2e.render('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', labels),
    ...s.queue.render('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', labels),
    '',
  ].join('\n');
}

function fmt(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}
