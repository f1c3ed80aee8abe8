// A real crash: the rasterizer runs as its own process and is SIGKILLed mid-PDF, after it has
// published at least one page and while its renderer is drawing the next. Another rasterizer takes
// the redelivered job, resumes after the last page published, and the job completes with every
// page published once (counted on the page subjects) and read once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { JobKeys, Subjects } from '../shared/bus/index.ts';
import { hostilePdf } from './helpers/hostile-pdf.ts';
import { startServiceProcess, tailLogs, type ServiceProcess } from './helpers/service-process.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
const procs: ServiceProcess[] = [];
before(async () => {
  // Everything but the rasterizer in this process; a short ack wait so the killed job comes back soon.
  stack = await startTestStack({ services: ['ingest', 'ocr', 'assembler'], env: { FOLIO_ACK_WAIT_MS: '2000' } });
});
after(async () => {
  for (const p of procs) await p.kill();
  await stack?.close();
});

/** Processes whose parent is `pid` (from /proc, so it sees what the rasterizer forked). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 60_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${tailLogs(procs)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a SIGKILLed rasterizer: the job resumes in another one after the last published page, no page twice, and completes', async () => {
  const rasterEnv = { ...stack.env, LOG_LEVEL: 'info' };
  const first = await startServiceProcess({ service: 'rasterizer', env: rasterEnv, label: 'rasterizer-1' });
  procs.push(first);

  // Eight pages that take about a second each to draw, so the kill lands mid-page.
  const PAGES = 8;
  const pdf = hostilePdf(Array.from({ length: PAGES }, () => ({ kind: 'operator-bomb' as const, ops: 12_000 })));
  const published = new Map<number, number>();
  const sub = stack.rt.bus.nc.subscribe(Subjects.allPagesReady, {
    callback: (_err, m) => {
      const page = (m.json() as { page: number }).page;
      published.set(page, (published.get(page) ?? 0) + 1);
    },
  });
  try {
    const res = await upload(stack.url, '/v1/jobs', pdf, { filename: 'slow.pdf', type: 'application/pdf', fields: { dpi: '144' } });
    assert.equal(res.status, 202);
    const { id } = await res.json();

    await until('a first page to be published', () => published.size >= 1);
    const renderers = childrenOf(first.pid);
    assert.ok(renderers.length >= 1, 'the rasterizer has a renderer process at work');
    await first.kill('SIGKILL');
    const progress = Number((await stack.rt.bus.jobs.get(JobKeys.rasterProgress(id)))?.string() ?? 0);
    assert.ok(progress >= 1 && progress < PAGES, `killed mid-document (last page published: ${progress})`);
    // Its renderer notices the parent is gone and exits: no orphan keeps drawing for nobody.
    await until('the orphaned renderer to exit', () => renderers.every((pid) => !alive(pid)), 10_000);

    const second = await startServiceProcess({ service: 'rasterizer', env: rasterEnv, label: 'rasterizer-2' });
    procs.push(second);
    const job = await waitForTerminal(stack.url, id, 180_000);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual(job.pages, { total: PAGES, done: PAGES, failed: 0 });
    assert.deepEqual(
      [...published.keys()].sort((a, b) => a - b),
      Array.from({ length: PAGES }, (_, i) => i + 1),
    );
    // Each page published once: the second rasterizer started after the last page the first one
    // recorded. (A kill between a publish and its progress record could repeat that one page; the
    // stream's msg-id dedupe would drop the copy. Allow it for that page only.)
    for (const [page, n] of published) assert.ok(n === 1 || (n === 2 && page === progress + 1), `page ${page} published ${n} times`);
  } finally {
    sub.unsubscribe();
  }
});
