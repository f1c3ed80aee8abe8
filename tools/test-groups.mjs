// Which test files may run beside which (tools/run-tests.mjs schedules by these groups).
//
//   unit         no server, no child process: started together, `npm run test:unit`.
//   integration  starts a nats-server, the services, an outside tool or a child process. Each file
//                starts its own nats-server on a free port with its own temp store (test/helpers/),
//                so several run side by side.
//   heavy        listed below by hand: the CPU engine (onnxruntime on both cores). They assert
//                accuracy, not speed, so they run beside integration files, but each counts as
//                several of them when tools/run-tests.mjs fills the cores.
//   alone        listed below by hand: timing-sensitive, so they run one at a time with nothing
//                else running. A file whose timing asserts have their margin (a bound many times
//                the measured value, a clock it sets itself) is not listed: test/vllm-window.test.ts
//                passes its own timestamps (a unit file), test/security-edge.test.ts waits 2 s for a
//                500 ms poll and bounds a 500 ms idle timeout at 15 s (an integration file).
//
// unit vs integration is computed from the imports, so a new file is classified without anyone
// remembering to: a file is integration when it reaches, through relative imports (test helpers
// and the project's own modules, e.g. the rasterizer's sandbox), node:child_process or one of the
// test helpers that start servers.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, normalize, basename } from 'node:path';

/** Files that keep both cores busy with the CPU engine; they run beside integration files, weighted. */
export const HEAVY = {
  'cpu-columns.test.ts': 'CPU engine',
  'cpu-engine.test.ts': 'CPU engine',
  'cpu-lang.test.ts': 'CPU engine',
  'cpu-onnx-passes.test.ts': 'CPU engine',
  'cpu-pipeline.test.ts': 'CPU engine through the stack',
  'cpu-quality.test.ts': 'CPU engine',
  'cpu-recognition.test.ts': 'CPU engine',
  'cpu-recycle.test.ts': 'CPU engine',
  'cpu-scale.test.ts': 'CPU engine',
  'real-pages.test.ts': 'CPU engine on the real pages',
};

/** Files that run one at a time with nothing else running, and why. */
export const ALONE = {
  // Timings asserted near their value.
  'vllm-sim-calibration.test.ts': 'simulator latencies asserted two-sided',
  'vllm-sim.test.ts': 'simulated batching: throughput and queue depth under concurrency',
  'vllm-engine.test.ts': "routing and window sizing from the backends' timed gauges",
  'render-sandbox.test.ts': 'renderer page and open deadlines (FOLIO_RENDER_TIMEOUT vs a slow but good page)',
  'refusals-clients.test.ts': 'client retry timing',
  'cli-limits.test.ts': 'CLI concurrency and retry timing',
  // Many processes: a 3-node nats cluster and 8 service processes.
  'cluster.test.ts': '3-node cluster, 8 service processes',
};

/** Helpers that start a nats-server, the services, an S3 server or a process. */
const STARTS_SERVERS = ['nats-server.ts', 'nats-cluster.ts', 'nats-auth-server.ts', 'service-process.ts', 'stack.ts', 's3-server.ts'];

const IMPORT = /(?:^|[\s;])(?:import|export)\s([^'"]*?)from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm;
const REEXPORT = /^export \* from '(\.[^']+)';$/gm;

/** The names an import statement takes (`{ a, type B as C }` → a, B), or null for `* as x` and default imports. */
function namesOf(clause) {
  const braces = /\{([^}]*)\}/.exec(clause ?? '');
  if (!braces || /\*|^\s*(type\s+)?\w+\s*,/.test(clause)) return null;
  return braces[1]
    .split(',')
    .map(
      (n) =>
        n
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0],
    )
    .filter(Boolean);
}

/**
 * A group's entry (shared/<group>/index.ts: only `export * from` lines) stands for the modules that
 * export the names taken from it, so importing one pure function from an entry does not make a test
 * an integration test because a sibling module starts processes.
 */
function throughEntry(entry, names) {
  const src = readFileSync(entry, 'utf8');
  const modules = [...src.matchAll(REEXPORT)].map((m) => normalize(join(dirname(entry), m[1])));
  if (
    modules.length === 0 ||
    src
      .replace(REEXPORT, '')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .trim() !== ''
  )
    return [entry];
  if (!names) return modules;
  return modules.filter((m) => {
    const text = readFileSync(m, 'utf8');
    return names.some((n) =>
      new RegExp(
        `export\\s+(?:declare\\s+)?(?:async\\s+)?(?:function\\*?|class|const|let|var|type|interface|enum)\\s+${n}\\b|export\\s*\\{[^}]*\\b${n}\\b`,
      ).test(text),
    );
  });
}

/** Does `file` reach node:child_process or a server helper through relative imports inside test/? */
function startsProcesses(file, seen = new Set()) {
  if (seen.has(file)) return false;
  seen.add(file);
  if (STARTS_SERVERS.includes(basename(file)) && file.includes(join('test', 'helpers'))) return true;
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(IMPORT)) {
    const spec = m[2] ?? m[3] ?? m[4];
    if (spec === 'node:child_process' || spec === 'child_process') return true;
    if (!spec.startsWith('.')) continue;
    const target = normalize(join(dirname(file), spec));
    if (!existsSync(target)) continue;
    const reached = basename(target) === 'index.ts' ? throughEntry(target, m[2] ? namesOf(m[1]) : null) : [target];
    if (reached.some((t) => startsProcesses(t, seen))) return true;
  }
  return false;
}

/** 'unit' | 'integration' | 'heavy' | 'alone' for a path like test/x.test.ts (relative to the repository root). */
export function groupOf(file) {
  if (Object.hasOwn(ALONE, basename(file))) return 'alone';
  if (Object.hasOwn(HEAVY, basename(file))) return 'heavy';
  return startsProcesses(normalize(file)) ? 'integration' : 'unit';
}
