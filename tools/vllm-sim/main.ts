/**
 * vllm-sim CLI: starts the vLLM simulator (a test/benchmark stand-in, NOT DeepSeek-OCR).
 *
 *   node --import tsx tools/vllm-sim/main.ts --port 8000 --max-num-seqs 32 --faults '{"rates":{"503":0.02}}'
 *
 * Every flag can also come from the environment as VLLM_SIM_<FLAG> (e.g. VLLM_SIM_MAX_NUM_SEQS=32);
 * this entry point is the only place that reads it.
 */
import { parseArgs } from 'node:util';
import { SIM_PROFILES, startVllmSimulator, type FaultPlan, type VllmSimulatorOptions } from './server.ts';

const flags = {
  port: 'port',
  host: 'host',
  model: 'model',
  'max-num-seqs': 'maxNumSeqs',
  'max-queued': 'maxQueued',
  'prefill-ms': 'prefillMs',
  'ms-per-token': 'msPerToken',
  'batch-slowdown': 'batchSlowdown',
  'time-scale': 'timeScale',
  'tokens-per-page': 'tokensPerPage',
  'max-model-len': 'maxModelLen',
  faults: 'faults',
  profile: 'profile',
  'error-format': 'errorFormat',
  metrics: 'metrics',
} as const;
const stringFlags = new Set(['host', 'model', 'faults', 'profile', 'error-format', 'metrics']);

function usage(): string {
  return `usage: vllm-sim ${Object.keys(flags)
    .map((f) => `[--${f} ${stringFlags.has(f) ? 'STR' : 'N'}]`)
    .join(' ')}\n  --faults takes a JSON FaultPlan: {"next":["503","hang"],"rates":{"length":0.05},"seed":1,"down":false,
    "loops":[{"width":1224,"height":1400,"kind":"repeat","mitigable":true}],"logprob":-0.02}
    (loops: pages of that size loop, "repeat" ending on its own or "length" at max_tokens; mitigable: a retry
    with a repetition penalty, presence penalty or temperature >= 0.2 reads them; logprob: every token's, when asked)
  --profile ${SIM_PROFILES.join('|')} (default: each request answered in the shape of the model its prompt is for)
  --error-format current|legacy   --metrics vllm|none`;
}

function options(argv: string[], env: NodeJS.ProcessEnv): VllmSimulatorOptions {
  const { values } = parseArgs({
    args: argv,
    options: { ...Object.fromEntries(Object.keys(flags).map((f) => [f, { type: 'string' as const }])), help: { type: 'boolean' } },
  });
  if (values.help) {
    console.log(usage());
    process.exit(0);
  }
  const out: Record<string, unknown> = { port: 8000, host: '0.0.0.0' };
  for (const [flag, key] of Object.entries(flags)) {
    const raw = (values as Record<string, string | undefined>)[flag] ?? env[`VLLM_SIM_${flag.toUpperCase().replaceAll('-', '_')}`];
    if (raw === undefined) continue;
    if (key === 'faults') out.faults = JSON.parse(raw) as FaultPlan;
    else if (flag === 'profile' && !(SIM_PROFILES as readonly string[]).includes(raw))
      throw new Error(`--profile must be one of ${SIM_PROFILES.join(', ')}, got ${raw}`);
    if (key === 'faults') continue;
    if (stringFlags.has(flag)) out[key] = raw;
    else {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a non-negative number, got ${raw}`);
      out[key] = n;
    }
  }
  return out as VllmSimulatorOptions;
}

const sim = await startVllmSimulator(options(process.argv.slice(2), process.env));
console.log(`vllm-sim (SIMULATOR, not a model) listening on ${sim.url}  (OpenAI base URL: ${sim.url}/v1)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void sim.close().then(() => process.exit(0));
  });
}
