/**
 * Reading vLLM's `/metrics` (Prometheus text exposition) into the few numbers flow control needs.
 * Pure; the poller that fetches it lives in backend.ts.
 */

/** Sums of every sample per metric name (labels dropped: vLLM labels by model and engine index). */
export function parsePrometheus(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    // name{labels} value [timestamp]; label values may contain spaces, so skip the braces first.
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)/.exec(l);
    if (!m) continue;
    const v = parseValue(m[3]);
    if (Number.isNaN(v)) continue;
    const list = out.get(m[1]);
    if (list) list.push(v);
    else out.set(m[1], [v]);
  }
  return out;
}

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

export interface VllmMetrics {
  running: number;
  waiting: number;
  /** 0–1; `vllm:kv_cache_usage_perc`, or `vllm:gpu_cache_usage_perc` on older servers. */
  kvCacheUsage?: number;
  generationTokens?: number;
  preemptions?: number;
}

/** Null when the text has none of vLLM's request gauges (not a vLLM server, or metrics disabled). */
export function readVllmMetrics(text: string): VllmMetrics | null {
  const p = parsePrometheus(text);
  const sum = (name: string) => p.get(name)?.reduce((a, b) => a + b, 0);
  // Several engines (data parallel) each report their own cache; the fullest one is the constraint.
  const max = (name: string) => {
    const v = p.get(name);
    return v && v.length > 0 ? Math.max(...v) : undefined;
  };
  const running = sum('vllm:num_requests_running');
  const waiting = sum('vllm:num_requests_waiting');
  if (running === undefined && waiting === undefined) return null;
  return {
    running: running ?? 0,
    waiting: waiting ?? 0,
    kvCacheUsage: max('vllm:kv_cache_usage_perc') ?? max('vllm:gpu_cache_usage_perc'),
    generationTokens: sum('vllm:generation_tokens_total'),
    preemptions: sum('vllm:num_preemptions_total'),
  };
}
