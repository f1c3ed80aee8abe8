// Folio's webhook signatures are Standard Webhooks signatures: checked against the reference
// implementation (the `standardwebhooks` package), both ways, so a receiver using it verifies ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { signWebhook, tenantWebhookSecret, verifyWebhook } from '../services/ingest/notify/webhook-signature.ts';

const secret = tenantWebhookSecret('a-master-secret-of-16+chars', 'acme');
const body = JSON.stringify({ type: 'job.completed', data: { id: 'job_01', pages: 3 } });
const at = new Date(1_765_000_000_000);

test('a delivery Folio signs is verified by the Standard Webhooks reference library', () => {
  const headers = {
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(at.getTime() / 1000),
    'webhook-signature': signWebhook(secret, 'msg_1', at.getTime() / 1000, body),
  };
  const wh = new Webhook(secret);
  // The library checks the timestamp against its clock: verify at the signing time.
  const realNow = Date.now;
  Date.now = () => at.getTime();
  try {
    assert.deepEqual(wh.verify(body, headers), JSON.parse(body));
  } finally {
    Date.now = realNow;
  }
});

test('a signature the reference library makes is verified by Folio (the client and receivers use this)', () => {
  const sig = new Webhook(secret).sign('msg_2', at, body);
  assert.equal(sig, signWebhook(secret, 'msg_2', at.getTime() / 1000, body), 'byte-identical');
  assert.doesNotThrow(() =>
    verifyWebhook(
      secret,
      { 'webhook-id': 'msg_2', 'webhook-timestamp': String(at.getTime() / 1000), 'webhook-signature': sig },
      body,
      300,
      at.getTime() / 1000,
    ),
  );
});
