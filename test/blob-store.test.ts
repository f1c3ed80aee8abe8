import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { z } from 'zod';
import { getJson, storeJsonUnlessSmall, type BlobStore, createNatsBlobStore } from '../shared/stores/index.ts';
import { INLINE_MAX_BYTES } from '../shared/bus/index.ts';
import { createS3BlobStore } from '../shared/stores/blob-store-s3.ts';
import { startNats, type TestNats } from './helpers/nats-server.ts';
import { startS3 } from './helpers/s3-server.ts';

const png = readFileSync(new URL('./fixtures/english.png', import.meta.url));

function contract(name: string, make: () => Promise<BlobStore>) {
  describe(`${name} blob store`, () => {
    let store: BlobStore;
    before(async () => {
      store = await make();
    });

    test('stores bytes under a key and gives the same bytes back', async () => {
      await store.put('pages/j1/1.png', png, 'image/png');
      assert.ok((await store.get('pages/j1/1.png')).equals(png));
    });

    test('a JSON payload is stored only when too big to travel in its message, and read back against its schema', async () => {
      const small = { text: 'x'.repeat(INLINE_MAX_BYTES - 20) };
      assert.equal(await storeJsonUnlessSmall(store, 'results/j9/1.json', small), undefined);
      assert.equal(await store.exists('results/j9/1.json'), false, 'a small payload travels inline: nothing stored');
      const big = { text: 'x'.repeat(INLINE_MAX_BYTES) };
      assert.equal(await storeJsonUnlessSmall(store, 'results/j9/2.json', big), 'results/j9/2.json');
      assert.deepEqual(await getJson(store, 'results/j9/2.json', z.object({ text: z.string() })), big);
      await assert.rejects(getJson(store, 'results/j9/2.json', z.object({ text: z.number() })), z.ZodError);
    });

    test('streams a file from disk with its size and streams it back', async () => {
      const file = path.join(os.tmpdir(), `folio-blob-${process.pid}`);
      writeFileSync(file, png);
      await store.putFile('sources/j2', file, png.length, 'image/png');
      const chunks: Buffer[] = [];
      for await (const c of await store.stream('sources/j2')) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(png));
    });

    test('a put to the same key overwrites (retries are idempotent)', async () => {
      await store.put('results/j3/document.md', Buffer.from('first'), 'text/markdown');
      await store.put('results/j3/document.md', Buffer.from('second'), 'text/markdown');
      assert.equal((await store.get('results/j3/document.md')).toString(), 'second');
    });

    test('a missing key is FOLIO_BLOB_MISSING, and exists() says false', async () => {
      await assert.rejects(store.get('nothing/here'), { code: 'FOLIO_BLOB_MISSING' });
      await assert.rejects(store.stream('nothing/here'), { code: 'FOLIO_BLOB_MISSING' });
      assert.equal(await store.exists('nothing/here'), false);
      assert.equal(await store.exists('pages/j1/1.png'), true);
    });

    test('deletePrefixes removes a job and nothing else', async () => {
      await store.put('pages/j9/1.png', png, 'image/png');
      await store.put('pages/j9/2.png', png, 'image/png');
      await store.deletePrefixes(['pages/j9/']);
      assert.equal(await store.exists('pages/j9/1.png'), false);
      assert.equal(await store.exists('pages/j9/2.png'), false);
      assert.equal(await store.exists('pages/j1/1.png'), true);
    });

    test('ping answers', async () => {
      await store.ping();
    });
  });
}

let nats: TestNats;
let nc: NatsConnection;
let s3: Awaited<ReturnType<typeof startS3>>;
before(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  s3 = await startS3();
});
after(async () => {
  await nc?.close();
  await nats?.destroy();
  await s3?.close();
});

contract('S3 (over HTTP, signed requests)', () =>
  createS3BlobStore({ endpoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, bucket: 'folio-test', region: 'us-east-1' }),
);
contract('JetStream object store', () => createNatsBlobStore(nc, 'folio_blobs_test', 3600));

describe('JetStream object store: small objects without a consumer per read', () => {
  let store: BlobStore;
  before(async () => {
    store = await createNatsBlobStore(nc, 'folio_blobs_direct', 3600);
  });
  const consumers = async () => (await (await jetstreamManager(nc)).streams.info('OBJ_folio_blobs_direct')).state.consumer_count;

  test('an object written in two publishes is an ordinary nats.js object (its reader, digest and listing agree)', async () => {
    await store.put('pages/d1/1.png', png, 'image/png');
    const os = await new Objm(nc).open('folio_blobs_direct');
    const info = await os.info('pages/d1/1.png');
    assert.equal(info?.size, png.length);
    assert.equal(info?.chunks, 1);
    assert.ok(Buffer.from((await os.getBlob('pages/d1/1.png'))!).equals(png), 'nats.js reads it and its digest check passes');
    assert.deepEqual(
      (await store.list('pages/d1/')).map((o) => o.key),
      ['pages/d1/1.png'],
    );
  });

  test('reads of one-chunk and several-chunk objects create no consumer', async () => {
    const big = Buffer.concat([png, png, png, png]); // 369 KB: three 128 KiB chunks, written by nats.js
    await store.put('pages/d2/big.png', big, 'image/png');
    const before = await consumers();
    assert.ok((await store.get('pages/d1/1.png')).equals(png));
    assert.ok((await store.get('pages/d2/big.png')).equals(big));
    assert.equal(await consumers(), before);
  });

  test('a second put of a key replaces the object and leaves no chunk of the first behind', async () => {
    await store.put('results/d3/document.md', Buffer.from('first'), 'text/markdown');
    await store.put('results/d3/document.md', Buffer.from('second'), 'text/markdown');
    assert.equal((await store.get('results/d3/document.md')).toString(), 'second');
    const jsm = await jetstreamManager(nc);
    const subjects = (await jsm.streams.info('OBJ_folio_blobs_direct', { subjects_filter: '$O.folio_blobs_direct.C.>' })).state.subjects ?? {};
    const os = await new Objm(nc).open('folio_blobs_direct');
    const live = new Set((await os.list()).map((i) => `$O.folio_blobs_direct.C.${i.nuid}`));
    assert.deepEqual(
      Object.keys(subjects).filter((s) => !live.has(s)),
      [],
      'no orphaned chunks',
    );
  });
});
