/**
 * `folio`: the command line for a running Folio server (see docs/cli.md).
 *   folio run FILE… -o DIR     upload, show progress per file, write DIR/<name>.md and .json
 *   folio submit FILE…         print the accepted jobs (JSON lines)
 *   folio status ID | watch ID | get ID [--format json] | cancel ID
 * Server and key: --url/--key, else FOLIO_URL/FOLIO_API_KEY (default http://127.0.0.1:8080).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_UPLOAD_CONCURRENCY, FolioApiError, FolioClient, type JobView, type RetryWait } from '../client/index.ts';

/** Exit codes scripts can rely on. */
export const EXIT = { done: 0, failed: 1, usage: 2, partial: 3, interrupted: 130 } as const;

/**
 * Files in progress at once in `folio run` (each holds an event stream while its job runs): well
 * under the server's default per-tenant caps (8 uploads, 32 streams); the client's own upload
 * limit keeps the uploads among them at DEFAULT_UPLOAD_CONCURRENCY.
 */
export const DEFAULT_CONCURRENCY = 8;

/** What the client waits for, as one line: "waiting 2s: FOLIO_QUOTA_EXCEEDED: At most 8 … (POST /v1/jobs, attempt 1)". */
export function waitLine(w: RetryWait): string {
  const s = w.waitMs / 1000;
  return `waiting ${s < 10 ? s.toFixed(1) : Math.round(s)}s: ${w.error.message} (${w.call}, attempt ${w.attempt})`;
}

/** Runs fn over items with at most `limit` at once; results in the items' order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const USAGE = `usage: folio <run|submit|status|watch|get|cancel> [args]
  folio run FILE... -o DIR [--pages 1-3] [--engine auto|cpu|vllm] [--task markdown|ocr|…] [--webhook URL]
                            [--concurrency N]  files worked on at once (default ${DEFAULT_CONCURRENCY}; uploads at once: at most ${DEFAULT_UPLOAD_CONCURRENCY})
  folio submit FILE... [options]      prints {"id",…} per file
  folio status ID                     prints the job (JSON)
  folio watch ID                      progress until the job ends
  folio get ID [--format markdown|json]
  folio cancel ID
  --url URL (or FOLIO_URL, default http://127.0.0.1:8080)  --key KEY (or FOLIO_API_KEY)
A refusal that clears (429 over a limit, 503 unavailable) is waited out after the server's
Retry-After, saying so on stderr; one that will not (too large, bad type, bad options) fails the file.
exit codes: 0 done, 1 failed or cancelled, 2 usage, 3 partial, 130 interrupted`;

class UsageError extends Error {}

/** The exit code for a set of ended jobs: any failure wins, then any partial. */
export function exitCodeFor(states: string[]): number {
  if (states.some((s) => s === 'failed' || s === 'cancelled')) return EXIT.failed;
  if (states.some((s) => s === 'partial')) return EXIT.partial;
  return EXIT.done;
}

function bar(name: string, s: JobView, width = 24): string {
  const finished = s.pages.done + s.pages.failed;
  const filled = s.pages.total ? Math.round((finished / s.pages.total) * width) : 0;
  const eta = s.progress?.etaSeconds;
  return `${name.padEnd(24).slice(0, 24)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${finished}/${s.pages.total} pages  ${s.status}${eta !== undefined && eta > 0 ? `  ETA ${eta < 60 ? `${Math.ceil(eta)}s` : `${Math.ceil(eta / 60)}m`}` : ''}`;
}

/** One line per file on a terminal (redrawn in place); a line per change otherwise (logs). */
function progressView(names: string[]) {
  const tty = process.stderr.isTTY;
  const lines = names.map((n) => `${n.padEnd(24).slice(0, 24)} queued`);
  if (tty) process.stderr.write(lines.join('\n') + '\n');
  const show = (i: number, line: string) => {
    if (lines[i] === line) return;
    lines[i] = line;
    if (!tty) return void process.stderr.write(line + '\n');
    process.stderr.write(`\x1b[${names.length}A` + lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
  };
  /** A line that is not a file's (a wait): printed above the per-file lines on a terminal. */
  const note = (line: string) => {
    if (!tty) return void process.stderr.write(line + '\n');
    process.stderr.write(`\x1b[${names.length}A\x1b[2K${line}\n` + lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
  };
  return Object.assign(show, { note });
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        key: { type: 'string' },
        out: { type: 'string', short: 'o' },
        format: { type: 'string' },
        pages: { type: 'string' },
        engine: { type: 'string' },
        task: { type: 'string' },
        dpi: { type: 'string' },
        cache: { type: 'string' },
        webhook: { type: 'string' },
        concurrency: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const {
    values: v,
    positionals: [cmd, ...args],
  } = parsed;
  if (v.help || !cmd) {
    process.stderr.write(USAGE + '\n');
    return v.help ? EXIT.done : EXIT.usage;
  }
  const concurrency = v.concurrency === undefined ? DEFAULT_CONCURRENCY : Number(v.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    process.stderr.write(`--concurrency takes a whole number of at least 1\n${USAGE}\n`);
    return EXIT.usage;
  }
  // Waits are said where they happen: on the progress view in `run`, as lines on stderr otherwise.
  let sayWait = (line: string) => void process.stderr.write(line + '\n');
  const client = new FolioClient({
    baseUrl: v.url ?? env.FOLIO_URL ?? 'http://127.0.0.1:8080',
    apiKey: v.key ?? env.FOLIO_API_KEY,
    uploadConcurrency: Math.min(concurrency, DEFAULT_UPLOAD_CONCURRENCY),
    retry: { onWait: (w) => sayWait(waitLine(w)) },
  });
  const options = Object.fromEntries(
    Object.entries({ pages: v.pages, engine: v.engine, task: v.task, dpi: v.dpi, cache: v.cache, webhook: v.webhook }).filter(([, x]) => x !== undefined),
  ) as Record<string, string>;
  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    const need = (n: number, what: string) => {
      if (args.length < n) throw new UsageError(`${cmd} needs ${what}`);
    };
    switch (cmd) {
      case 'run': {
        need(1, 'at least one FILE');
        if (!v.out) throw new UsageError('run needs -o DIR');
        mkdirSync(v.out, { recursive: true });
        const show = progressView(args.map((f) => path.basename(f)));
        sayWait = show.note;
        const states = await mapLimit(args, concurrency, async (file, i) => {
          if (interrupted) return 'interrupted';
          const name = path.basename(file);
          show(i, `${name.padEnd(24).slice(0, 24)} uploading…`);
          try {
            const job = await client.submit(new Blob([readFileSync(file)]), name, options);
            const end = await client.watch(job.id, (s) => show(i, bar(name, s)), controller.signal);
            show(i, bar(name, end));
            const stem = path.join(v.out!, name.replace(/\.[^.]+$/, ''));
            if (end.status === 'completed' || end.status === 'partial') {
              writeFileSync(`${stem}.md`, await client.markdown(job.id));
              writeFileSync(`${stem}.json`, JSON.stringify(await client.document(job.id), null, 2));
            } else show(i, `${name}: ${end.status}${end.error ? ` — ${end.error.code}: ${end.error.message}` : ''}`);
            return end.status;
          } catch (err) {
            if (interrupted) return 'interrupted';
            show(i, `${name}: ${(err as Error).message}`);
            return 'failed';
          }
        });
        return interrupted ? EXIT.interrupted : exitCodeFor(states);
      }
      case 'submit': {
        need(1, 'at least one FILE');
        let failed = false;
        for (const file of args) {
          try {
            process.stdout.write(JSON.stringify(await client.submit(new Blob([readFileSync(file)]), path.basename(file), options)) + '\n');
          } catch (err) {
            failed = true;
            process.stderr.write(`${file}: ${(err as Error).message}\n`);
          }
        }
        return failed ? EXIT.failed : EXIT.done;
      }
      case 'status':
        need(1, 'a job ID');
        process.stdout.write(JSON.stringify(await client.status(args[0]), null, 2) + '\n');
        return EXIT.done;
      case 'watch': {
        need(1, 'a job ID');
        const show = progressView([args[0]]);
        const end = await client.watch(args[0], (s) => show(0, bar(args[0], s)), controller.signal);
        if (end.error) process.stderr.write(`${end.error.code}: ${end.error.message}\n`);
        return exitCodeFor([end.status]);
      }
      case 'get':
        need(1, 'a job ID');
        process.stdout.write(v.format === 'json' ? JSON.stringify(await client.document(args[0]), null, 2) + '\n' : await client.markdown(args[0]));
        return EXIT.done;
      case 'cancel': {
        need(1, 'a job ID');
        const res = await client.cancel(args[0]);
        process.stderr.write(res ? `cancelled ${args[0]}\n` : `deleted ${args[0]}\n`);
        return EXIT.done;
      }
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n${USAGE}\n`);
      return EXIT.usage;
    }
    if (interrupted) return EXIT.interrupted;
    process.stderr.write(`${err instanceof FolioApiError ? err.message : `folio: ${(err as Error).message}`}\n`);
    return EXIT.failed;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
