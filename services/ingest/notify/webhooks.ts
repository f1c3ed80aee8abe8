import http from 'node:http';
import https from 'node:https';
import {
  ensureConsumer,
  runConsumer,
  Slots,
  JobEvent,
  TerminalStates,
  type AttemptContext,
  type JobState,
  type JobStatus,
  type WebhookDelivery,
  Streams,
  Subjects,
  parseEventSubject,
} from '../../../shared/bus/index.ts';
import { FolioError } from '../../../shared/operations/index.ts';
import type { WebhookPayload } from '../../../shared/document/index.ts';
import { resolveSafe, UnsafeUrlError } from '../ssrf.ts';
import { signWebhook, tenantWebhookSecret } from './webhook-signature.ts';
import type { IngestDeps } from '../jobs.ts';
import { publicStatus } from '../public-job.ts';

/** The durable consumer on FOLIO_JOB_EVENTS shared by ingest replicas: each job end is delivered by one of them. */
export const WEBHOOK_CONSUMER = 'ingest-webhooks';
const KEEP_DELIVERIES = 20;

/** Retry delay after the n-th failed attempt: base × 2^(n-1), capped. */
export const backoffMs = (attempt: number, base: number, max: number) => Math.min(max, base * 2 ** Math.max(0, attempt - 1));

/** POSTs the body to the address checked by resolveSafe (never a second DNS lookup); resolves the HTTP status. */
export function postPinned(
  target: { url: URL; address: string; family: 4 | 6 },
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const mod = target.url.protocol === 'https:' ? https : http;
    const req = mod.request(
      target.url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Folio-Webhooks/1', ...headers },
        lookup: (_host, opts, cb) =>
          (opts as { all?: boolean }).all
            ? (cb as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: target.address, family: target.family }])
            : cb(null, target.address, target.family),
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Delivers each job end to the job's webhook (or its tenant's default), signed as Standard
 * Webhooks do, from a durable JetStream consumer run by the shared consumer loop: a failed attempt
 * is nak'ed with exponential backoff and comes back from JetStream (across restarts and replicas),
 * until a 2xx or the last attempt. Every attempt is recorded in the job's status
 * (`webhook.deliveries`). Targets that resolve to private, loopback or link-local addresses are
 * refused (not retried) unless allowed.
 */
export async function startWebhooks(deps: IngestDeps): Promise<{ stop(): Promise<void> }> {
  const c = deps.config;
  const master = c.ingest.webhooks.secret!;
  await ensureWebhookConsumer(deps);
  const log = deps.log;

  async function record(job: JobStatus, url: string, d: WebhookDelivery) {
    await deps.jobs
      .update(job.id, (s) => ({ ...s, webhook: { url, deliveries: [...(s.webhook?.deliveries ?? []), d].slice(-KEEP_DELIVERIES) } }))
      .catch((err) => log.warn({ err, jobId: job.id }, 'webhook attempt not recorded'));
  }

  async function deliver(ev: JobEvent, ctx: AttemptContext) {
    const kind = ev.kind;
    const cur = (await deps.jobs.get(ev.jobId))?.status ?? ev.status;
    const url = cur.webhook?.url ?? c.ingest.webhooks.defaults.get(cur.tenant);
    if (!url) return;
    const attempt = ctx.deliveryCount;
    const event = `job.${kind}`;
    const at = new Date().toISOString();
    let target;
    try {
      target = await resolveSafe(url, { allowPrivate: c.ingest.webhooks.allowPrivate });
    } catch (err) {
      if (!(err instanceof UnsafeUrlError)) throw err;
      await record(cur, url, { event, attempt, at, outcome: 'refused', error: err.message });
      log.warn({ jobId: cur.id, url, reason: err.message }, 'webhook target refused');
      // Not retryable: the loop terms the message.
      throw new FolioError('FOLIO_URL_FORBIDDEN', `webhook target refused: ${err.message}`, { jobId: cur.id });
    }
    const payload: WebhookPayload = { type: event as WebhookPayload['type'], timestamp: at, data: publicStatus(cur) };
    const body = JSON.stringify(payload);
    const id = `msg_${cur.id}_${kind}_${ctx.seq}`;
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signWebhook(tenantWebhookSecret(master, cur.tenant), id, ts, body),
    };
    let httpStatus: number | undefined;
    let error: string | undefined;
    try {
      httpStatus = await postPinned(target, body, headers, c.ingest.webhooks.timeoutMs);
    } catch (err) {
      error = (err as Error).message;
    }
    const ok = httpStatus !== undefined && httpStatus >= 200 && httpStatus < 300;
    await record(cur, url, {
      event,
      attempt,
      at,
      outcome: ok ? 'delivered' : 'failed',
      ...(httpStatus !== undefined ? { httpStatus } : {}),
      ...(error ? { error } : {}),
    });
    if (ok) return;
    // Retryable: nak'ed with the webhook backoff, or given up on after the last attempt.
    throw new FolioError(
      'FOLIO_UNAVAILABLE',
      `webhook ${url} answered ${httpStatus ?? error}`,
      { jobId: cur.id, url, attempt, httpStatus, error },
      { public: false },
    );
  }

  const consumer = runConsumer({
    js: deps.bus.js,
    stream: Streams.events,
    consumers: [WEBHOOK_CONSUMER],
    // Progress events share the filter; only job ends are announced.
    ignore: (subject) => !TerminalStates.includes(parseEventSubject(subject)?.kind as JobState),
    schema: JobEvent,
    handler: deliver,
    onGiveUp: async (ev, err) => {
      if (err.code !== 'FOLIO_URL_FORBIDDEN') log.warn({ jobId: ev.jobId, ...err.details, code: err.code }, 'webhook given up after the last attempt');
    },
    // One delivery at a time per replica, as before the shared loop.
    slots: new Slots(1),
    maxDeliver: c.ingest.webhooks.maxAttempts,
    retryDelayMs: (attempt) => backoffMs(attempt, c.ingest.webhooks.baseBackoffMs, c.ingest.webhooks.maxBackoffMs),
    ackWaitMs: webhookAckWaitMs(deps),
    // DNS, the POST (its own timeout) and the record fit well within this; past it the attempt hung.
    stepDeadlineMs: webhookAckWaitMs(deps),
    log,
  });
  return { stop: () => consumer.stop(webhookAckWaitMs(deps)) };
}

/** An attempt's ack deadline: three request timeouts (resolution, the POST, the status record). */
const webhookAckWaitMs = (deps: IngestDeps) => deps.config.ingest.webhooks.timeoutMs * 3;

async function ensureWebhookConsumer(deps: IngestDeps) {
  // New events only: ends from before webhooks were turned on are not announced late.
  await ensureConsumer(deps.bus.jsm, Streams.events, {
    durable: WEBHOOK_CONSUMER,
    filter: Subjects.allEventLog,
    ackWaitMs: webhookAckWaitMs(deps),
    maxAckPending: 1000,
    deliverNew: true,
  });
}
