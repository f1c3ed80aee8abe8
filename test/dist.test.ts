// `npm start`'s path: the production build (tsc -p tsconfig.build.json + tools/copy-assets.mjs)
// run by plain node, no tsx, starting its own nats-server from nats.conf. Built into a temp
// directory so a running `npm start` or another test's dist/ is not clobbered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startVllmSimulator, type VllmSimulator } from '../tools/vllm-sim/server.ts';
import { makePdf } from './helpers/make-pdf.ts';
import { freePort } from './helpers/nats-server.ts';
import { ROOT, startServiceProcess, type ServiceProcess } from './helpers/service-process.ts';
import { upload, waitForTerminal } from './helpers/stack.ts';

let dir: string;
let sim: VllmSimulator;
let folio: ServiceProcess | undefined;
let base: string;
let natsPort: number;

before(async () => {
  // A stand-in project root: the build output, the config files the build reads at run time,
  // and links to the sources copy-assets copies from and to node_modules.
  dir = mkdtempSync(path.join(os.tmpdir(), 'folio-dist-'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  symlinkSync(path.join(ROOT, 'services'), path.join(dir, 'services'), 'dir');
  symlinkSync(path.join(ROOT, 'client'), path.join(dir, 'client'), 'dir');
  copyFileSync(path.join(ROOT, 'nats.conf'), path.join(dir, 'nats.conf'));
  copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  // What `npm run build` runs, with the output directory moved.
  try {
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(dir, 'dist')],
      { cwd: ROOT, stdio: 'pipe' },
    );
  } catch (err) {
    throw new Error(`the build failed:\n${(err as { stdout?: Buffer }).stdout?.toString() ?? err}`, { cause: err });
  }
  execFileSync(process.execPath, [path.join(ROOT, 'tools/copy-assets.mjs')], { cwd: dir, stdio: 'pipe' });
  mkdirSync(path.join(dir, 'data'));

  sim = await startVllmSimulator({ prefillMs: 5, msPerToken: 0.05 });
  const port = await freePort();
  natsPort = await freePort();
  folio = await startServiceProcess({
    service: 'all',
    label: 'npm-start',
    args: ['dist/services/all/main.js'],
    cwd: dir,
    env: {
      FOLIO_HTTP_HOST: '127.0.0.1',
      FOLIO_HTTP_PORT: String(port),
      FOLIO_LOCAL_NATS_PORT: String(natsPort),
      FOLIO_DATA_DIR: path.join(dir, 'data'),
      FOLIO_RATE_LIMIT_MAX: '0',
      VLLM_BASE_URLS: sim.url,
    },
  });
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  await folio?.kill();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });

test('the build is plain JavaScript that node runs without tsx', () => {
  assert.ok(existsSync(path.join(dir, 'dist/services/all/main.js')));
  assert.ok(existsSync(path.join(dir, 'dist/services/ingest/public/index.html')), 'copy-assets copied the upload page');
  assert.ok(existsSync(path.join(dir, 'dist/client/sse.js')), 'copy-assets copied the SSE parser the page imports');
  assert.ok(!/"tsx"|--import tsx/.test(readFileSync(path.join(dir, 'dist/services/all/main.js'), 'utf8')));
});

test('node dist/services/all/main.js, with no NATS_URL, runs its own nats-server and serves an OCR job end to end', async () => {
  assert.ok(await listening(natsPort), 'it started nats-server on FOLIO_LOCAL_NATS_PORT');
  const res = await upload(base, '/v1/jobs', makePdf(['dist page one', 'dist page two']), { filename: 'dist.pdf' });
  assert.equal(res.status, 202);
  const { id } = await res.json();
  const job = await waitForTerminal(base, id, 60_000);
  assert.equal(job.status, 'completed', JSON.stringify(job));
  assert.deepEqual(job.pages, { total: 2, done: 2, failed: 0 });
  const md = await (await fetch(`${base}/v1/jobs/${id}/result`)).text();
  assert.match(md, /SIMULATED OUTPUT/);
  assert.deepEqual(
    [...md.matchAll(/<!-- page (\d+) -->/g)].map((m) => Number(m[1])),
    [2],
  );

  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/i, 'the upload page is served from the copied assets');
  assert.match(await (await fetch(`${base}/client/sse.js`)).text(), /export async function readStatusEvents/, 'and the SSE parser it imports');
});

test('SIGTERM stops it cleanly: exit code 0 and its nats-server gone', async () => {
  const p = folio!;
  await p.kill('SIGTERM');
  assert.equal(await p.exited, 0, p.logs().slice(-2000));
  const until = Date.now() + 10_000;
  while (await listening(natsPort)) {
    assert.ok(Date.now() < until, 'nats-server stopped with it');
    await new Promise((r) => setTimeout(r, 100));
  }
});
