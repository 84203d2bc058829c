/**
 * A Redis Cluster of local redis-server processes, for tests and `npm start -- --cluster`: 3
 * primaries and a replica each, on free ports in a temporary directory, durable (AOF) as
 * production runs Redis. Importing this module starts nothing; startLocalCluster() does.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';

const run = promisify(execFile);
const HOST = '127.0.0.1';

/**
 * SEND_PARTITIONS for a system on the local cluster (npm start --cluster, the cluster benchmark)
 * when none is set: each channel's sends over six queues, so that they spread over the three primaries.
 */
export const LOCAL_CLUSTER_SEND_PARTITIONS = 6;

export interface LocalClusterOptions {
  /** Primaries (redis-cli wants at least 3); each gets `replicas` replicas. Default 3. */
  primaries?: number;
  /** Replicas per primary. Default 1. */
  replicas?: number;
  /**
   * `cluster-node-timeout`: how long a node may not answer before it counts as failed, and so
   * roughly how long a failover takes. Default 5000 ms (Redis' own is 15000); tests use ~2000.
   */
  nodeTimeoutMs?: number;
  /** How long to wait for the cluster to be up (every slot served, every replica in sync). Default 60 s. */
  readyTimeoutMs?: number;
}

/** One node as `CLUSTER NODES` describes it. */
export interface ClusterNodeView {
  id: string;
  /** `host:port` */
  address: string;
  role: 'primary' | 'replica';
  /** The primary's id, for a replica. */
  primaryId?: string;
  /** Flagged `fail` (or `fail?`, suspected) by the node asked. */
  failing: boolean;
  /** Hash slots served (a primary's), as `[from, to]` ranges. */
  slots: [number, number][];
}

export interface LocalCluster {
  /** Every node, `host:port`, as REDIS_CLUSTER_NODES takes them. */
  nodes: string[];
  /** The nodes that were primaries when the cluster was created (a failover changes that: see view()). */
  primaries: string[];
  /** The directory holding each node's data, config and log. */
  dir: string;
  /** The cluster as `CLUSTER NODES` on a live node describes it (the first that answers). */
  view(): Promise<ClusterNodeView[]>;
  /** Resolves when every running node says `cluster_state:ok` and every slot is served; throws after `timeoutMs`. */
  waitUntilOk(timeoutMs?: number): Promise<void>;
  /** SIGKILLs one node (`host:port`) and waits until its process is gone: a crash, for failover tests. */
  kill(node: string): Promise<void>;
  /** SIGTERMs every node still running and waits for each to exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** stop(), then deletes the directory. */
  close(): Promise<void>;
}

interface NodeProcess {
  address: string;
  port: number;
  dir: string;
  child: ChildProcess;
  exited: Promise<void>;
  /** Why it could not be started (redis-server not on PATH). */
  error?: Error;
}

function running(p: NodeProcess): boolean {
  return !p.error && p.child.exitCode === null && p.child.signalCode === null;
}

/** One command on one node, over a connection of its own that gives up at once if the node is away. */
async function ask(address: string, ...args: string[]): Promise<string> {
  const [host, port] = splitAddress(address);
  const r = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, enableOfflineQueue: false });
  r.on('error', () => undefined); // a node not up (or just killed) is an answer too: the caller polls again
  try {
    await r.connect();
    return String(await r.call(args[0]!, ...args.slice(1)));
  } finally {
    r.disconnect();
  }
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

/** `CLUSTER NODES`' lines, parsed. */
export function parseClusterNodes(text: string): ClusterNodeView[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, addr, flags, primaryId, , , , , ...slotFields] = line.trim().split(' ');
      const flagList = (flags ?? '').split(',');
      const slots: [number, number][] = [];
      for (const field of slotFields) {
        if (field.startsWith('[')) continue; // a slot being migrated or imported
        const [from, to] = field.split('-');
        slots.push([Number(from), Number(to ?? from)]);
      }
      return {
        id: id!,
        // `127.0.0.1:7000@17000,hostname`: the client address before the bus port.
        address: (addr ?? '').split('@')[0]!,
        role: flagList.includes('master') ? ('primary' as const) : ('replica' as const),
        ...(primaryId && primaryId !== '-' ? { primaryId } : {}),
        failing: flagList.includes('fail') || flagList.includes('fail?'),
        slots,
      };
    });
}

async function until<T>(what: string, fn: () => Promise<T>, timeoutMs: number, failed: () => string | undefined): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const problem = failed();
    if (problem) throw new Error(`${what}: ${problem}`);
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts `primaries × (1 + replicas)` redis-servers with cluster mode on, joins them with
 * `redis-cli --cluster create`, and resolves once every node says `cluster_state:ok`, every slot
 * is served and every replica is in sync with its primary. On any failure it stops what it
 * started before throwing. The processes are in their own process group (a terminal's Ctrl-C
 * reaches only the owner, which stops them in order), and are SIGKILLed if the owner exits
 * without close().
 */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  // A port found free can be taken by another process before redis-server binds it: then pick again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(options: LocalClusterOptions): Promise<LocalCluster> {
  const primaryCount = options.primaries ?? 3;
  const replicas = options.replicas ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 5000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  if (!Number.isInteger(primaryCount) || primaryCount < 3) throw new Error('a Redis Cluster needs at least 3 primaries');
  const count = primaryCount * (1 + replicas);

  const dir = mkdtempSync(join(tmpdir(), 'tickercast-cluster-'));
  const procs: NodeProcess[] = [];
  /** Nodes killed on purpose (kill()): their exit is no reason to give up waiting. */
  const killed = new Set<string>();
  const killAll = () => {
    for (const p of procs) if (running(p)) p.child.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const stop = async () => {
    await Promise.all(
      procs.map(async (p) => {
        if (!running(p)) return;
        p.child.kill('SIGTERM');
        const hard = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
        await p.exited;
        clearTimeout(hard);
      }),
    );
  };
  const close = async () => {
    await stop();
    process.removeListener('exit', killAll);
    rmSync(dir, { recursive: true, force: true });
  };
  /** Why the cluster cannot come up: a node that exited, with the end of its log. */
  const deadNode = () => {
    const p = procs.find((n) => !running(n) && !killed.has(n.address));
    if (!p) return undefined;
    let log = '';
    try {
      log = readFileSync(join(p.dir, 'redis.log'), 'utf8').split('\n').slice(-8).join('\n');
    } catch {
      // no log written
    }
    if (p.error) return `redis-server could not be started (${p.error.message}): is it installed? (apt-get install redis-server)`;
    return `redis-server ${p.address} exited (${p.child.signalCode ?? p.child.exitCode})${log ? `:\n${log}` : ''}`;
  };
  try {
    // Client and bus ports both picked free: the default bus port (port + 10000) may be taken or past 65535.
    const ports: number[] = [];
    while (ports.length < count * 2) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    for (let i = 0; i < count; i++) {
      const port = ports[i]!;
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const child = spawn(
        'redis-server',
        [
          '--port', String(port), '--bind', HOST, '--dir', nodeDir, '--logfile', join(nodeDir, 'redis.log'),
          '--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'),
          '--cluster-port', String(ports[count + i]), '--cluster-node-timeout', String(nodeTimeoutMs),
          // A replica may take over however long its link was down: a local cluster's point is that failover happens.
          '--cluster-replica-validity-factor', '0',
          '--appendonly', 'yes', '--save', '', '--repl-diskless-sync-delay', '0', '--maxmemory-policy', 'noeviction',
        ],
        { stdio: 'ignore', detached: true },
      );
      const proc: NodeProcess = { address: `${HOST}:${port}`, port, dir: nodeDir, child, exited: Promise.resolve() };
      proc.exited = new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.once('error', (err) => {
          proc.error = err;
          resolve();
        });
      });
      procs.push(proc);
    }
    const nodes = procs.map((p) => p.address);
    await until('redis-server processes accepting connections', async () => {
      const answers = await Promise.all(nodes.map((n) => ask(n, 'PING').catch(() => '')));
      return answers.every((a) => a === 'PONG');
    }, 20_000, deadNode);

    try {
      await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 60_000 });
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      throw new Error(`redis-cli --cluster create failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
    }

    const view = async (): Promise<ClusterNodeView[]> => {
      let last: unknown;
      for (const p of procs.filter(running)) {
        try {
          return parseClusterNodes(await ask(p.address, 'CLUSTER', 'NODES'));
        } catch (err) {
          last = err;
        }
      }
      throw new Error(`no cluster node answers${last ? ` (${(last as Error).message})` : ''}`);
    };

    const waitUntilOk = async (timeoutMs = readyTimeoutMs) => {
      await until('cluster_state:ok on every node with every slot served', async () => {
        const live = procs.filter(running);
        const infos = await Promise.all(live.map((p) => ask(p.address, 'CLUSTER', 'INFO')));
        return infos.every((info) => /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info));
      }, timeoutMs, deadNode);
    };

    await waitUntilOk();
    // Every replica attached and in sync, so that a failover right away has a replica to promote.
    await until('every replica in sync with its primary', async () => {
      const v = await view();
      const replicaNodes = v.filter((n) => n.role === 'replica');
      if (replicaNodes.length !== primaryCount * replicas) return false;
      const links = await Promise.all(replicaNodes.map((n) => ask(n.address, 'INFO', 'replication')));
      return links.every((info) => /master_link_status:up/.test(info));
    }, readyTimeoutMs, deadNode);

    const primaries = (await view()).filter((n) => n.role === 'primary').map((n) => n.address);
    return {
      nodes,
      primaries,
      dir,
      view,
      waitUntilOk,
      async kill(node) {
        const p = procs.find((n) => n.address === node);
        if (!p) throw new Error(`${node} is not a node of this cluster (${nodes.join(', ')})`);
        killed.add(node);
        if (!running(p)) return;
        p.child.kill('SIGKILL');
        await p.exited;
      },
      stop,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
