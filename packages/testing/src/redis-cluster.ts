import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitFor } from './wait-for.ts';

/**
 * A real Redis Cluster of the test's own: `masters` redis-server processes with `replicas` each,
 * on free ports in a temp dir, joined by `redis-cli --cluster create`. A node killed with SIGKILL
 * is failed over by the others after `nodeTimeoutMs` and an election, as in production. Resolves
 * once every node sees the cluster ok and every replica has finished its first sync.
 */
export interface RedisClusterNode {
  host: string;
  port: number;
}

export interface RedisCluster {
  /** Every node, masters and replicas (a client needs only some of them). */
  nodes: RedisClusterNode[];
  /** REDIS_CLUSTER_NODES for a fleet process. */
  nodesVariable: string;
  /** The live masters with the slot ranges they serve, from CLUSTER SHARDS of a live node. */
  masters(): Promise<{ port: number; slots: [number, number][] }[]>;
  /** The port of the master serving `key`'s slot. */
  masterOf(key: string): Promise<number>;
  /** SIGKILLs the node on `port`; resolves once the process is gone. */
  kill(port: number): Promise<void>;
  /** One command on one node (a short-lived connection). */
  command(port: number, ...args: Array<string | number>): Promise<unknown>;
  /** The last lines the node on `port` logged (failure detection and elections), for messages. */
  log(port: number): string;
  /** Stops every node and deletes the directory. */
  destroy(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRedisCluster(
  options: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {},
): Promise<RedisCluster> {
  const masterCount = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const dir = await mkdtemp(join(tmpdir(), 'fleet-redis-cluster-'));
  const children = new Map<number, { proc: ChildProcess; exited: Promise<void>; log: () => string }>();
  const ports: number[] = [];
  while (ports.length < masterCount * (1 + replicas)) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }

  async function command(port: number, ...args: Array<string | number>): Promise<unknown> {
    const admin = new Redis({
      host: '127.0.0.1',
      port,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    admin.on('error', () => {});
    try {
      await admin.connect();
      return await admin.call(String(args[0]), ...args.slice(1).map(String));
    } finally {
      admin.disconnect();
    }
  }

  const destroy = async () => {
    for (const { proc, exited } of children.values()) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    for (const port of ports) {
      const nodeDir = join(dir, String(port));
      await mkdir(nodeDir);
      const proc = spawn(
        'redis-server',
        [
          ...['--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--daemonize', 'no'],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
          ...['--cluster-node-timeout', String(options.nodeTimeoutMs ?? 1_000)],
          // A master waits 5 s by default before a diskless full sync, in case more replicas come;
          // each master here has its replicas from the start, so sync at once.
          ...['--repl-diskless-sync-delay', '0'],
          // Queues must never be evicted (the fleet's health check says so too).
          ...['--maxmemory-policy', 'noeviction', '--appendonly', 'no', '--save', '', '--loglevel', 'notice'],
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let log = '';
      const keep = (chunk: Buffer) => {
        log = (log + chunk.toString()).slice(-8000);
      };
      proc.stdout!.on('data', keep);
      proc.stderr!.on('data', keep);
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      children.set(port, { proc, exited, log: () => log });
    }
    for (const port of ports) {
      await waitFor(async () => (await command(port, 'PING')) === 'PONG', {
        timeoutMs: 10_000,
        what: `redis-server on ${port} to answer (${children.get(port)!.log()})`,
      });
    }
    // The first `masterCount` listed become masters; redis-cli assigns a replica to each.
    await promisify(execFile)(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    // Every node agrees the cluster is up and knows every other node.
    for (const port of ports) {
      await waitFor(
        async () => {
          const info = String(await command(port, 'CLUSTER', 'INFO'));
          return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${ports.length}`);
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `node ${port} to see the cluster as ok` },
      );
    }
    // Every replica has finished its first sync. Until then it holds no data, and a replica that
    // never synced refuses to fail over ("Disconnected from master for longer than allowed"): a
    // master killed before that has no successor.
    for (const port of ports) {
      await waitFor(
        async () => {
          const role = (await command(port, 'ROLE')) as unknown[];
          return role[0] === 'master' || role[3] === 'connected';
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `node ${port} to be a master or a synced replica` },
      );
    }
  } catch (error) {
    await destroy();
    throw error;
  }

  const live = () => ports.filter((p) => children.get(p)!.proc.exitCode === null && !children.get(p)!.proc.signalCode);

  async function masters() {
    const out: { port: number; slots: [number, number][] }[] = [];
    const slots = (await command(live()[0]!, 'CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
    for (const [from, to, [, port]] of slots) {
      let m = out.find((o) => o.port === port);
      if (!m) {
        m = { port, slots: [] };
        out.push(m);
      }
      m.slots.push([from, to]);
    }
    return out;
  }

  return {
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    nodesVariable: ports.map((p) => `127.0.0.1:${p}`).join(','),
    masters,
    async masterOf(key) {
      const slot = Number(await command(live()[0]!, 'CLUSTER', 'KEYSLOT', key));
      const owner = (await masters()).find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
      if (!owner) throw new Error(`no master serves slot ${slot} of ${key}`);
      return owner.port;
    },
    async kill(port) {
      const child = children.get(port);
      if (!child) throw new Error(`no node on ${port}`);
      child.proc.kill('SIGKILL');
      await child.exited;
    },
    command,
    log: (port) => children.get(port)?.log() ?? '',
    destroy,
  };
}
