import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from '@nats-io/transport-node';
import { Subjects } from '../bus/subjects.ts';

/**
 * How a service authenticates to NATS, from configuration. One of: user + password (NATS_USER with
 * NATS_PASSWORD or NATS_PASSWORD_FILE), a creds file (NATS_CREDS), an nkey seed file (NATS_NKEY),
 * or nothing (a NATS without authentication, as the tests' bare servers are).
 *
 * The secret never stays in the config object, which may be logged or dumped: it lives in a
 * closure and only `connectOptions()` hands it over, to nats.js.
 */
export const natsAuthSchema = {
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  /** A file holding the password (a mounted secret); surrounding whitespace is ignored. */
  NATS_PASSWORD_FILE: z.string().min(1).optional(),
  /** A NATS creds file (JWT + nkey seed), for a NATS run in operator mode. */
  NATS_CREDS: z.string().min(1).optional(),
  /** A file holding an nkey user seed (SU...). */
  NATS_NKEY: z.string().min(1).optional(),
  /** Subject prefix of this service's reply inboxes; nats.conf allows each user only its own. Default: _INBOX_<NATS_USER>. */
  NATS_INBOX_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be subject tokens without wildcards')
    .optional(),
};

export type NatsAuthMethod = 'none' | 'password' | 'creds' | 'nkey';

export interface NatsAuth {
  readonly method: NatsAuthMethod;
  readonly user?: string;
  readonly inboxPrefix: string;
  /** What nats.js needs to authenticate: user/pass or an authenticator. */
  connectOptions(): Partial<ConnectionOptions>;
}

export function natsAuth(o: { method: NatsAuthMethod; user?: string; inboxPrefix?: string; secret?: () => Partial<ConnectionOptions> }): NatsAuth {
  const secret = o.secret ?? (() => ({}));
  const inboxPrefix = o.inboxPrefix ?? (o.user ? `_INBOX_${o.user}` : '_INBOX');
  const auth = { method: o.method, user: o.user, inboxPrefix, connectOptions: () => ({ ...secret(), inboxPrefix }) };
  // JSON.stringify and util.inspect show who, never the secret (which is not a property at all).
  Object.defineProperty(auth, 'toJSON', { value: () => ({ method: o.method, user: o.user, inboxPrefix }), enumerable: false });
  return Object.freeze(auth);
}

/** The user/password pair for a server we started ourselves (one-machine mode, tests). */
export const passwordAuth = (user: string, password: string, inboxPrefix?: string) =>
  natsAuth({ method: 'password', user, inboxPrefix, secret: () => ({ user, pass: password }) });

type Raw = { [K in keyof typeof natsAuthSchema]?: string };

function readSecret(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    // The code only: the message of some errors quotes the file's content.
    throw new NatsAuthError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

export class NatsAuthError extends Error {}

/** Builds the NatsAuth from the raw settings; throws NatsAuthError naming the settings at fault. */
export function natsAuthFromSettings(c: Raw): NatsAuth {
  const given = (['NATS_PASSWORD', 'NATS_PASSWORD_FILE', 'NATS_CREDS', 'NATS_NKEY'] as const).filter((k) => c[k]);
  if (given.length > 1) throw new NatsAuthError(`set one of NATS_PASSWORD, NATS_PASSWORD_FILE, NATS_CREDS, NATS_NKEY, not ${given.join(' and ')}`);
  const inboxPrefix = c.NATS_INBOX_PREFIX;
  if (c.NATS_PASSWORD || c.NATS_PASSWORD_FILE) {
    if (!c.NATS_USER) throw new NatsAuthError(`${given[0]} needs NATS_USER`);
    const user = c.NATS_USER;
    const pass = c.NATS_PASSWORD ?? readSecret(c.NATS_PASSWORD_FILE!, 'NATS_PASSWORD_FILE');
    if (!pass) throw new NatsAuthError(`NATS_PASSWORD_FILE ${c.NATS_PASSWORD_FILE} is empty`);
    return natsAuth({ method: 'password', user, inboxPrefix, secret: () => ({ user, pass }) });
  }
  if (c.NATS_CREDS) {
    const creds = new TextEncoder().encode(readSecret(c.NATS_CREDS, 'NATS_CREDS'));
    return natsAuth({ method: 'creds', user: c.NATS_USER, inboxPrefix, secret: () => ({ authenticator: credsAuthenticator(creds) }) });
  }
  if (c.NATS_NKEY) {
    const seed = new TextEncoder().encode(readSecret(c.NATS_NKEY, 'NATS_NKEY'));
    if (!/^SU[A-Z2-7]{50,}$/.test(new TextDecoder().decode(seed))) throw new NatsAuthError(`NATS_NKEY ${c.NATS_NKEY} does not hold an nkey user seed (SU...)`);
    return natsAuth({ method: 'nkey', user: c.NATS_USER, inboxPrefix, secret: () => ({ authenticator: nkeyAuthenticator(seed) }) });
  }
  if (c.NATS_USER) throw new NatsAuthError('NATS_USER needs NATS_PASSWORD or NATS_PASSWORD_FILE');
  return natsAuth({ method: 'none', inboxPrefix });
}

/** For config.ts's transform: the NatsAuth, and the raw password replaced so the config can be logged. */
export function natsAuthSettings(c: Raw, ctx: z.RefinementCtx): { nats: NatsAuth; NATS_PASSWORD: string | undefined } {
  let nats: NatsAuth;
  try {
    nats = natsAuthFromSettings(c);
  } catch (err) {
    if (!(err instanceof NatsAuthError)) throw err;
    ctx.addIssue({ code: 'custom', path: ['NATS_USER'], message: err.message });
    nats = natsAuth({ method: 'none' });
  }
  return { nats, NATS_PASSWORD: c.NATS_PASSWORD ? '[redacted]' : undefined };
}

// --- Users files: nats.conf's service users plus one event subscriber per tenant ---------------

/** The four service users nats.conf defines (as variables), each bound to its permission set. */
export const SERVICE_USERS = ['ingest', 'rasterizer', 'ocr', 'assembler'] as const;
/** The environment variable holding each service user's password, read by nats-server. */
export const servicePasswordVar = (user: (typeof SERVICE_USERS)[number]) => `NATS_${user.toUpperCase()}_PASSWORD`;

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
/** nats-server parses unquoted config values: only plain tokens are safe in a generated file. */
const SAFE_PASSWORD = /^[A-Za-z][A-Za-z0-9_-]{11,}$/;

export interface TenantSubscriber {
  tenant: string;
  /** Either an nkey public key (U...), so the file holds no secret, or a password. */
  nkey?: string;
  password?: string;
}

export interface ExtraUser {
  user: string;
  password: string;
  /** A nats-server permissions block, as config text. */
  permissions: string;
}

/** What a tenant's subscriber may do: subscribe to its own events, publish nothing. */
export const tenantPermissions = (tenant: string) => `{ publish: { deny: [">"] }, subscribe: { allow: [${JSON.stringify(Subjects.eventsOfTenant(tenant))}] } }`;

/**
 * A nats-server config that includes nats.conf (settings, permissions, the service users) and
 * redefines `authorization` with the service users plus one subscriber per tenant (and, for
 * one-machine mode, extra users). nats-server lets a later `authorization` replace an earlier one,
 * and arrays cannot be extended across files, hence the whole block.
 */
export function natsUsersConf(o: {
  /** Where the generated file will be written, and where nats.conf is: nats-server resolves an include relative to the including file, even an absolute path. */
  file: string;
  natsConf: string;
  tenants?: TenantSubscriber[];
  extraUsers?: ExtraUser[];
  header?: string;
}): string {
  const include = path.relative(path.dirname(path.resolve(o.file)), path.resolve(o.natsConf));
  const entries: string[] = SERVICE_USERS.map((u) => `    $${u.toUpperCase()}`);
  for (const x of o.extraUsers ?? []) {
    if (!TOKEN.test(x.user) || !SAFE_PASSWORD.test(x.password)) throw new NatsAuthError(`user ${x.user}: name or password not safe in nats-server config`);
    entries.push(`    { user: ${JSON.stringify(x.user)}, password: ${JSON.stringify(x.password)}, permissions: ${x.permissions} }`);
  }
  const seen = new Set<string>();
  for (const t of o.tenants ?? []) {
    if (!TOKEN.test(t.tenant)) throw new NatsAuthError(`tenant ${JSON.stringify(t.tenant)} is not a NATS subject token`);
    if (seen.has(t.tenant)) throw new NatsAuthError(`tenant ${t.tenant} listed twice`);
    seen.add(t.tenant);
    const perms = tenantPermissions(t.tenant);
    if (t.nkey) {
      if (!/^U[A-Z2-7]{55}$/.test(t.nkey)) throw new NatsAuthError(`tenant ${t.tenant}: ${t.nkey} is not an nkey user public key`);
      entries.push(`    # tenant ${t.tenant}\n    { nkey: ${t.nkey}, permissions: ${perms} }`);
    } else if (t.password) {
      if ((SERVICE_USERS as readonly string[]).includes(t.tenant)) throw new NatsAuthError(`tenant ${t.tenant} has the name of a service user`);
      if (!SAFE_PASSWORD.test(t.password)) throw new NatsAuthError(`tenant ${t.tenant}: password not safe in nats-server config`);
      entries.push(`    { user: ${JSON.stringify(t.tenant)}, password: ${JSON.stringify(t.password)}, permissions: ${perms} }`);
    } else throw new NatsAuthError(`tenant ${t.tenant}: an nkey or a password is needed`);
  }
  return [
    o.header ?? '# Generated by Folio: the service users of nats.conf plus one event subscriber per tenant.',
    `include ${JSON.stringify(include)}`,
    '',
    'authorization {',
    '  users = [',
    entries.join('\n'),
    '  ]',
    '}',
    '',
  ].join('\n');
}
