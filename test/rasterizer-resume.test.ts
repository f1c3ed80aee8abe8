import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { loadConfig } from '../shared/config.ts';
import { FolioError } from '../shared/errors.ts';
import { createRuntime, type Runtime } from '../shared/runtime.ts';
import type { BlobStore } from '../shared/blob-store.ts';
import type { JobStatus, JobSubmitted } from '../shared/messages.ts';
import { BlobKeys, Streams } from '../shared/subjects.ts';
import { createRasterizeHandler } from '../services/rasterizer/handler.ts';
import { startNats, type TestNats } from './helpers/nats-server.ts';

let nats: TestNats;
let rt: Runtime;

before(async () => {
  nats = await startNats();
  rt = await createRuntime(loadConfig({ NATS_URL: nats.url, LOG_LEVEL: 'silent' }), 'raster-test', nats.url);
});
after(async () => {
  await rt?.bus.nc.drain();
  await nats?.destroy();
});

const ctx = { deliveryCount: 1, lastAttempt: false, working() {}, signal: new AbortController().signal };

test('a rasterizer that dies mid-PDF resumes after the last page it published, without duplicating pages', async () => {
  const id = randomUUID();
  const pdf = readFileSync(new URL('./fixtures/doc10.pdf', import.meta.url));
  await rt.blobs.put(BlobKeys.source(id), pdf, 'application/pdf');
  const now = new Date().toISOString();
  const options = { dpi: 72, task: 'markdown', engine: 'auto', textLayer: 'auto', separator: 'rule', cache: 'use' } as const;
  const status: JobStatus = {
    v: 1, id, tenant: 'default', status: 'queued', priority: 'batch', createdAt: now, updatedAt: now, options,
    source: { name: 'doc10.pdf', mediaType: 'application/pdf', bytes: pdf.length, sha256: 'x', pageCount: 10 },
    pages: { total: 10, done: 0, failed: 0 },
  };
  await rt.jobs.create(status);

  // The first run "dies" while storing page 5, as a killed process would.
  const stored: number[] = [];
  let die = true;
  const blobs: BlobStore = {
    ...rt.blobs,
    async put(key, data, type) {
      const m = /^pages\/[^/]+\/(\d+)\.png$/.exec(key);
      if (m) {
        if (die && m[1] === '5') throw new FolioError('FOLIO_UNAVAILABLE', 'killed');
        stored.push(Number(m[1]));
      }
      return rt.blobs.put(key, data, type);
    },
  };
  const handler = createRasterizeHandler({
    js: rt.bus.js, kv: rt.bus.jobs, jobs: rt.jobs, blobs, metrics: rt.metrics, log: rt.log,
    limits: { maxLongSide: 2000, maxInputPixels: 100e6, maxPages: 100, tmpDir: os.tmpdir() },
  });
  const msg: JobSubmitted = { v: 1, jobId: id, tenant: 'default', sourceKey: BlobKeys.source(id), mediaType: 'application/pdf', options, priority: 'batch' };

  await assert.rejects(handler(msg, ctx), { code: 'FOLIO_UNAVAILABLE' });
  assert.deepEqual(stored, [1, 2, 3, 4]);
  die = false;
  await handler(msg, { ...ctx, deliveryCount: 2 });
  assert.deepEqual(stored, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'the second run starts at page 5');
  const info = await rt.bus.jsm.streams.info(Streams.pages);
  assert.equal(info.state.messages, 10, 'ten page messages in the stream, none twice');
  assert.equal((await rt.jobs.get(id))!.status.status, 'ocr');
});
