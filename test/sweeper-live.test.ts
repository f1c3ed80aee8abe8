/**
 * The sweeper's schedule on a running stack (FOLIO_STUCK_AFTER_S, FOLIO_SWEEP_INTERVAL_S): a job
 * whose page message was lost (here: purged from the pages stream, as a stream rebuilt from a bad
 * backup would lose it) is ended by the assembler's own timer, with one completion event; a job
 * whose page is still waiting for an OCR worker is left alone however long it waits.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Subjects } from '../shared/bus/index.ts';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';

const png = readFileSync(new URL('./fixtures/english.png', import.meta.url));
let stack: TestStack;

before(async () => {
  // No OCR service: pages wait in FOLIO_PAGES until a test takes them away.
  stack = await startTestStack({ services: ['ingest', 'rasterizer', 'assembler'], env: { FOLIO_STUCK_AFTER_S: '2', FOLIO_SWEEP_INTERVAL_S: '1' } });
});
after(async () => {
  await stack?.close();
});

async function waitForState(id: string, state: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const job = await (await fetch(`${stack.url}/v1/jobs/${id}`)).json();
    if (job.status === state) return job;
    assert.ok(Date.now() < deadline, `job ${id} is ${job.status}, not ${state}, after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a job whose page message was lost is ended by the running sweeper: failed with FOLIO_STALLED, one event', async () => {
  const waiting = (await (await upload(stack.url, '/v1/jobs', png, { filename: 'waiting.png', fields: { cache: 'bypass' } })).json()).id;
  const lost = (await (await upload(stack.url, '/v1/jobs', png, { filename: 'lost.png', fields: { cache: 'bypass' } })).json()).id;
  await waitForState(waiting, 'ocr');
  await waitForState(lost, 'ocr');
  const events: string[] = [];
  const sub = stack.rt.bus.nc.subscribe(Subjects.allEvents, {
    callback: (_e, m) => void (m.subject.includes(lost) && events.push(m.subject.split('.').pop()!)),
  });
  const [stream, filter] = Subjects.workOfJob(lost).find(([s]) => s === 'FOLIO_PAGES')!;
  await stack.rt.bus.jsm.streams.purge(stream, { filter });
  const t0 = Date.now();

  const ended = await waitForTerminal(stack.url, lost, 20_000);
  const took = Date.now() - t0;
  assert.equal(ended.status, 'failed');
  const detail = await (await fetch(`${stack.url}/v1/jobs/${lost}`)).json();
  assert.match(JSON.stringify(detail), /FOLIO_STALLED/, 'the job says why its page failed');
  // Stuck after 2 s, looked for every 1 s: ended within a few seconds, not at the 600 s default.
  assert.ok(took >= 1_000 && took < 10_000, `ended ${took} ms after its work was lost`);

  // Further passes change nothing: exactly one terminal event.
  await new Promise((r) => setTimeout(r, 3_000));
  await stack.rt.bus.nc.flush();
  sub.unsubscribe();
  assert.deepEqual(
    events.filter((k) => k !== 'progress'),
    ['failed'],
  );
  // The job with its page still queued is left alone, however old its last change.
  assert.equal((await (await fetch(`${stack.url}/v1/jobs/${waiting}`)).json()).status, 'ocr');
});
