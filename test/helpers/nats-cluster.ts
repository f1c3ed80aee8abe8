import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort } from './nats-server.ts';

/** The cluster config template that deploy/ documents; every node runs it, told apart by env. */
export const CLUSTER_CONF = fileURLToPath(new URL('../../deploy/nats-cluster.conf', import.meta.url));

export interface ClusterNode {
  /** server_name, as JetStream reports it in stream info (cluster.leader, replicas[].name). */
  name: string;
  url: string;
  port: number;
  clusterPort: number;
  storeDir: string;
  logFile: string;
  running(): boolean;
  /** SIGKILL by default: no shutdown, no goodbye to the Raft groups. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports and store (it rejoins the cluster and catches up). */
  start(): Promise<void>;
}

export interface TestCluster {
  nodes: ClusterNode[];
  /** A NATS_URL with every node, node `first` first: clients connect there and fail over to the rest. */
  url(first?: number): string;
  node(name: string): ClusterNode;
  /** Resolves when every running node answers JetStream API requests (a meta leader exists). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** The tail of each node's log, for failure reports. */
  logs(lines?: number): string;
  destroy(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One client on one node only (no failover), to ask that node itself. */
async function jsReady(url: string): Promise<boolean> {
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ servers: url, reconnect: false, timeout: 1000 });
    const jsm = await jetstreamManager(nc, { timeout: 1500 });
    await jsm.getAccountInfo();
    return true;
  } catch {
    return false;
  } finally {
    await nc?.close().catch(() => {});
  }
}

/**
 * Three (by default) real nats-server processes on localhost, clustered with JetStream from
 * deploy/nats-cluster.conf: free client and route ports, one temp store per node, logs in files.
 */
export async function startNatsCluster(o: { size?: number; bin?: string } = {}): Promise<TestCluster> {
  const size = o.size ?? 3;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'folio-cluster-'));
  const ports = await Promise.all(Array.from({ length: size * 2 }, () => freePort()));
  const routes = Object.fromEntries(ports.slice(size).map((p, i) => [`NATS_ROUTE_${i + 1}`, `nats-route://127.0.0.1:${p}`]));
  // The template names three routes; a smaller test cluster repeats the last one (a duplicate route is dropped).
  for (let i = size; i < 3; i++) routes[`NATS_ROUTE_${i + 1}`] = routes[`NATS_ROUTE_${size}`];

  const nodes: ClusterNode[] = Array.from({ length: size }, (_, i) => {
    const name = `n${i + 1}`;
    const port = ports[i];
    const clusterPort = ports[size + i];
    const storeDir = path.join(dir, name, 'store');
    const logFile = path.join(dir, name, 'server.log');
    mkdirSync(storeDir, { recursive: true });
    let proc: ChildProcess | undefined;
    const node: ClusterNode = {
      name,
      url: `nats://127.0.0.1:${port}`,
      port,
      clusterPort,
      storeDir,
      logFile,
      running: () => !!proc && proc.exitCode === null && proc.signalCode === null,
      async start() {
        if (node.running()) return;
        const fd = openSync(logFile, 'a');
        proc = spawn(o.bin ?? 'nats-server', ['-c', CLUSTER_CONF], {
          stdio: ['ignore', fd, fd],
          env: {
            PATH: process.env.PATH,
            NATS_NODE_NAME: name,
            NATS_CLIENT_LISTEN: `127.0.0.1:${port}`,
            NATS_CLUSTER_LISTEN: `127.0.0.1:${clusterPort}`,
            NATS_STORE_DIR: storeDir,
            ...routes,
          },
        });
        closeSync(fd);
      },
      async kill(signal: NodeJS.Signals = 'SIGKILL') {
        if (!proc || !node.running()) return;
        const exited = new Promise((r) => proc!.once('exit', r));
        proc.kill(signal);
        await exited;
      },
    };
    return node;
  });

  const cluster: TestCluster = {
    nodes,
    url: (first = 0) => [...nodes.slice(first), ...nodes.slice(0, first)].map((n) => n.url).join(','),
    node(name) {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new Error(`no cluster node named ${name}`);
      return n;
    },
    async waitReady(timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (const n of nodes.filter((x) => x.running())) {
        while (!(await jsReady(n.url))) {
          if (Date.now() > until) throw new Error(`cluster node ${n.name} not ready after ${timeoutMs} ms\n${cluster.logs()}`);
          await sleep(200);
        }
      }
    },
    logs(lines = 30) {
      return nodes
        .map((n) => {
          let text = '';
          try {
            text = readFileSync(n.logFile, 'utf8');
          } catch {}
          return `--- ${n.name} (${n.logFile}) ---\n${text.split('\n').slice(-lines).join('\n')}`;
        })
        .join('\n');
    },
    async destroy() {
      await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await Promise.all(nodes.map((n) => n.start()));
  await cluster.waitReady();
  return cluster;
}
