import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type ServiceName = 'ingest' | 'rasterizer' | 'ocr' | 'assembler' | 'all';

/** What each main.ts logs once it is connected and consuming (pino's `msg`). */
const READY: Record<ServiceName, RegExp> = {
  ingest: /"msg":"ingest listening"/,
  rasterizer: /"msg":"rasterizer started"/,
  ocr: /"msg":"ocr started"/,
  assembler: /"msg":"assembler started"/,
  all: /"msg":"Folio listening on /,
};

export interface ServiceProcess {
  /** The label given at start (e.g. "ocr-2"), used in test output. */
  label: string;
  service: ServiceName;
  pid: number;
  logFile: string;
  running(): boolean;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** SIGKILL by default: the process gets no chance to ack, nak or drain anything. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Everything the process wrote (JSON logs and stderr), for failure reports. */
  logs(): string;
  /** CPU time used so far by the process and its descendants (sandboxes, workers), from /proc (0 without it): tells a busy replica from an idle one. */
  cpuMs(): number;
}

let logDir: string | undefined;
// The logs are kept for a failing run (its report names the files) and removed after a passing one.
process.once('exit', (code) => {
  if (logDir && code === 0 && !process.exitCode) rmSync(logDir, { recursive: true, force: true });
});

/**
 * Runs one service as its own process — `node --import tsx services/<name>/main.ts` by default, or
 * any other entry (e.g. the compiled dist/ one) — with exactly the env given (plus PATH and HOME),
 * stdout and stderr captured to a log file. Resolves once the service logs that it has started.
 */
export async function startServiceProcess(o: {
  service: ServiceName;
  env: Record<string, string>;
  label?: string;
  /** The node arguments; default `--import tsx services/<service>/main.ts`. */
  args?: string[];
  cwd?: string;
  readyTimeoutMs?: number;
}): Promise<ServiceProcess> {
  logDir ??= mkdtempSync(path.join(os.tmpdir(), 'folio-services-'));
  const label = o.label ?? o.service;
  const logFile = path.join(logDir, `${label}-${Date.now()}.log`);
  const fd = openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, o.args ?? ['--import', 'tsx', `services/${o.service}/main.ts`], {
    cwd: o.cwd ?? ROOT,
    // Not process.env: the test runner's own variables must not leak in (an unknown FOLIO_* stops start-up).
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), LOG_LEVEL: 'info', ...o.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const logs = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const running = () => child.exitCode === null && child.signalCode === null;
  const proc: ServiceProcess = {
    label,
    service: o.service,
    pid: child.pid ?? -1,
    logFile,
    running,
    exited,
    logs,
    cpuMs: () => treeCpuMs(child.pid ?? -1),
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!running()) return;
      child.kill(signal);
      await exited;
    },
  };
  const until = Date.now() + (o.readyTimeoutMs ?? 60_000);
  while (!READY[o.service].test(logs())) {
    if (!running() || Date.now() > until) {
      await proc.kill();
      throw new Error(`${label} did not start (exit ${child.exitCode ?? child.signalCode ?? 'timeout'}); log ${logFile}:\n${logs().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return proc;
}

/** The last `lines` lines of each process's log, labelled: what a failing test prints. */
export function tailLogs(procs: ServiceProcess[], lines = 20): string {
  return procs.map((p) => `--- ${p.label} (pid ${p.pid}, ${p.logFile}) ---\n${p.logs().trimEnd().split('\n').slice(-lines).join('\n')}`).join('\n');
}

/** utime + stime of a process and every live descendant, in ms (Linux /proc; clock ticks at 100 Hz). */
function treeCpuMs(root: number): number {
  const stats = new Map<number, { ppid: number; ms: number }>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return 0;
  }
  for (const d of pids) {
    try {
      // The fields after the parenthesised command name: ppid is the 2nd, utime and stime the 12th and 13th.
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ').at(-1)!.split(' ');
      stats.set(Number(d), { ppid: Number(f[1]), ms: (Number(f[11]) + Number(f[12])) * 10 });
    } catch {}
  }
  let total = 0;
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    total += stats.get(pid)?.ms ?? 0;
    for (const [child, st] of stats) if (st.ppid === pid) queue.push(child);
  }
  return total;
}
