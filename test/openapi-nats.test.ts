import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { connect } from '@nats-io/transport-node';
import { startTestStack, upload, waitForTerminal, type TestStack } from './helpers/stack.ts';
import { makePdf } from './helpers/make-pdf.ts';

const schema = (f: string) => JSON.parse(readFileSync(new URL(`../shared/json-schemas/${f}`, import.meta.url), 'utf8'));
let stack: TestStack;

before(async () => {
  // Slow pages, so a 6-page job has progress to report.
  stack = await startTestStack({ sim: { prefillMs: 400 }, env: { FOLIO_MAX_ACK_PENDING: '2' } });
});
after(async () => stack?.close());

test('the published JSON Schemas are up to date with the zod schemas', () => {
  execFileSync(process.execPath, ['--import', 'tsx', 'tools/json-schemas.ts', '--check'], { cwd: new URL('..', import.meta.url), stdio: 'pipe' });
});

test('a NATS client written from the documented schemas alone: progress events while pages remain, then one completion event, and the KV record', async () => {
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  const progress = ajv.compile(schema('progress-event.v1.schema.json'));
  const ended = ajv.compile(schema('job-event.v1.schema.json'));
  const record = ajv.compile(schema('job-status.v1.schema.json'));

  // Only what the README documents: the subject pattern and the payload schemas.
  const nc = await connect({ servers: stack.natsUrl });
  const sub = nc.subscribe('folio.events.default.>');
  const res = await upload(stack.url, '/v1/jobs', makePdf(['one', 'two', 'three', 'four', 'five', 'six']), { filename: 'six.pdf' });
  const { id } = await res.json();
  const seen: Array<{ kind: string; data: any }> = [];
  const timer = setTimeout(() => sub.unsubscribe(), 60_000);
  for await (const m of sub) {
    const [, , tenant, jobId, kind] = m.subject.split('.');
    if (jobId !== id) continue;
    assert.equal(tenant, 'default');
    const data = m.json<any>();
    const check = kind === 'progress' ? progress : ended;
    assert.ok(check(data), `${kind}: ${ajv.errorsText(check.errors)}`);
    seen.push({ kind, data });
    if (kind !== 'progress') break;
  }
  clearTimeout(timer);
  const kinds = seen.map((s) => s.kind);
  assert.equal(kinds.at(-1), 'completed', kinds.join(' '));
  assert.ok(kinds.includes('progress'), `progress events before the end: ${kinds.join(' ')}`);
  for (const p of seen.filter((s) => s.kind === 'progress')) assert.ok(p.data.pages.done < 6);
  const dones = seen.filter((s) => s.kind === 'progress').map((s) => s.data.pages.done);
  assert.deepEqual(
    dones,
    [...dones].sort((a, b) => a - b),
    'progress only goes forward',
  );

  // The KV record, read with the plain KV API.
  const { Kvm } = await import('@nats-io/kv');
  const kv = await new Kvm(nc).open('folio_jobs');
  const entry = await kv.get(id);
  assert.ok(record(entry!.json()), ajv.errorsText(record.errors));
  await nc.close();
  assert.equal((await waitForTerminal(stack.url, id)).status, 'completed');
});
