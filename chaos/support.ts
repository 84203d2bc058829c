/**
 * The whole system as separate processes for chaos scenarios: the simulator, the ingress and N
 * dispatchers (optionally the ticker), on the test Redis under a fresh namespace (or, with
 * `cluster`, on a local Redis Cluster of its own), with a freshly generated application key.
 * `stop()` always ends every process (SIGTERM, then SIGKILL) and deletes the namespace's keys (or
 * the cluster); call it from `afterAll`/`finally`.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import {
  connectRedis,
  createQueues,
  loadConfig,
  PriceCache,
  redisKeys,
  scanKeys,
  SubscriptionStore,
  type Channel,
  type Queues,
  type RedisClient,
  type RedisKeys,
} from '@tickercast/shared';
import { LOCAL_CLUSTER_SEND_PARTITIONS, startLocalCluster, type LocalCluster, type LocalClusterOptions } from '../scripts/lib/local-cluster.ts';
import { freePort, spawnScript, until, type Spawned } from '../test/support/processes.ts';
import { redisUrl, testNamespace } from '../test/support/redis.ts';

/** CHAOS_QUICK=1: smaller loads and shorter faults, for CI. */
export const QUICK = process.env.CHAOS_QUICK === '1';

export interface SystemOptions {
  dispatchers?: number;
  ticker?: boolean;
  /** Extra environment for every process. */
  env?: NodeJS.ProcessEnv;
  /** Extra environment for the dispatchers only. */
  dispatcherEnv?: NodeJS.ProcessEnv;
  redisUrl?: string;
  /**
   * Run on a local Redis Cluster of the system's own (3 primaries, a replica each;
   * scripts/lib/local-cluster.ts) with these options, instead of the test Redis: every process gets
   * REDIS_CLUSTER_NODES, and `sys.cluster` can kill a node. `stop()` ends the cluster.
   */
  cluster?: LocalClusterOptions;
}

export interface Proc {
  name: string;
  spawned: Spawned;
}

export interface SimMessage {
  messageUuid: string;
  to: string;
  display: string;
  channel: string;
  acceptedAt: string;
  /** When the request reached the simulator (before any injected latency). */
  arrivedAt: string;
}

export interface System {
  namespace: string;
  keys: RedisKeys;
  /** The system's Redis: the test Redis, or (with `cluster`) an ioredis Cluster on the local cluster. */
  redis: RedisClient;
  /** The local cluster, when started with `cluster`. */
  cluster?: LocalCluster;
  queues: Queues;
  store: SubscriptionStore;
  prices: PriceCache;
  env: NodeJS.ProcessEnv;
  ingressUrl: string;
  simUrl: string;
  procs: Proc[];
  dispatchers: Proc[];
  startDispatcher(): Promise<Proc>;
  startProc(name: string, script: string, env?: NodeJS.ProcessEnv): Promise<Proc>;
  sim<T = unknown>(path: string, init?: { method?: string; body?: unknown }): Promise<T>;
  faults(body: unknown): Promise<unknown>;
  messages(): Promise<SimMessage[]>;
  stats(): Promise<SimStats>;
  /** Every queue's job counts, summed per state. */
  jobCounts(): Promise<Record<string, number>>;
  sendCounts(): Promise<Record<string, number>>;
  /** SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves with the exit. */
  terminate(p: Proc, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export interface SimStats {
  channels: Record<string, { accepted: number; throttled: number; maxPerSecond: number }>;
  faults: { delayed: number; errors: number; outageErrors: number; resets: number; storm: number };
}

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

async function httpOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

export async function startSystem(opts: SystemOptions = {}): Promise<System> {
  const namespace = testNamespace();
  // As the processes lay them out: on a cluster each queue has a tag of its own.
  const keys = redisKeys(namespace, { cluster: Boolean(opts.cluster) });
  const url = opts.redisUrl ?? redisUrl();
  const cluster = opts.cluster ? await startLocalCluster(opts.cluster) : undefined;
  // On the cluster, each channel's sends over several queues, as npm start --cluster runs them.
  const sendPartitions = cluster ? LOCAL_CLUSTER_SEND_PARTITIONS : 1;
  const redisEnv: NodeJS.ProcessEnv = cluster
    ? { REDIS_URL: url, REDIS_CLUSTER_NODES: cluster.nodes.join(','), SEND_PARTITIONS: String(sendPartitions) }
    : { REDIS_URL: url };
  const redis = connectRedis(loadConfig(redisEnv));
  // It reconnects by itself (the Redis-restart scenario); without a listener ioredis prints each failed attempt.
  redis.on('error', () => undefined);
  const queues = createQueues(redis, keys, { sendPartitions });
  for (const q of queues.all()) q.on('error', () => undefined);
  const [port, simPort] = [await freePort(), await freePort()];
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    ...redisEnv,
    REDIS_NAMESPACE: namespace,
    PORT: String(port),
    SIMULATOR_PORT: String(simPort),
    SIMULATOR_WEBHOOK_URL: `http://127.0.0.1:${port}`,
    VONAGE_API_URL: `http://127.0.0.1:${simPort}`,
    VONAGE_APPLICATION_ID: randomUUID(),
    VONAGE_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    TICKER_SYMBOLS: 'MSFT',
    ...opts.env,
  };
  const procs: Proc[] = [];
  const dispatchers: Proc[] = [];
  const ingressUrl = `http://127.0.0.1:${port}`;
  const simUrl = `http://127.0.0.1:${simPort}`;

  const terminate: System['terminate'] = async (p, graceMs = 25_000) => {
    const c = p.spawned.child;
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
      const r = await p.spawned.exited;
      clearTimeout(t);
      return r;
    }
    return p.spawned.exited;
  };

  const startProc = async (name: string, script: string, extra: NodeJS.ProcessEnv = {}): Promise<Proc> => {
    const p = { name, spawned: spawnScript(script, { ...env, ...extra }) };
    procs.push(p);
    return p;
  };

  const sys: System = {
    namespace,
    keys,
    redis,
    ...(cluster ? { cluster } : {}),
    queues,
    store: new SubscriptionStore(redis, keys),
    prices: new PriceCache(redis, keys),
    env,
    ingressUrl,
    simUrl,
    procs,
    dispatchers,
    startProc,
    async startDispatcher() {
      const p = await startProc(`dispatcher-${dispatchers.length + 1}`, 'apps/dispatcher/src/main.ts', { LOG_LEVEL: 'info', ...opts.dispatcherEnv });
      dispatchers.push(p);
      await p.spawned.waitForOutput(/"msg":"dispatching"/, 30_000);
      return p;
    },
    async sim<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
      const res = await fetch(simUrl + path, {
        method: init.method ?? 'GET',
        headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    faults: (body) => sys.sim('/_sim/faults', { method: 'POST', body }),
    async messages() {
      return (await sys.sim<{ messages: SimMessage[] }>('/_sim/messages?limit=100000')).messages;
    },
    stats: () => sys.sim<SimStats>('/_sim/stats'),
    async jobCounts() {
      const sum: Record<string, number> = {};
      for (const q of queues.all()) {
        const c = await q.getJobCounts(...STATES);
        for (const [k, v] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + v;
      }
      return sum;
    },
    async sendCounts() {
      const sum: Record<string, number> = {};
      for (const q of Object.values(queues.sendQueues).flat()) {
        const c = await q.getJobCounts(...STATES);
        for (const [k, v] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + v;
      }
      return sum;
    },
    terminate,
    async stop() {
      await Promise.all(procs.map((p) => terminate(p, 10_000)));
      await queues.close().catch(() => undefined);
      if (cluster) {
        // The cluster was the system's own: it goes, keys and all.
        redis.disconnect();
        await cluster.close();
        return;
      }
      try {
        // One key at a time: on a cluster they are in many slots.
        for await (const found of scanKeys(redis, `${namespace}:*`)) await Promise.all(found.map((k) => redis.unlink(k)));
      } catch {
        // Redis may be gone (the Redis-restart scenario): nothing to clean.
      }
      redis.disconnect();
    },
  };

  try {
    const sim = await startProc('simulator', 'apps/simulator/src/main.ts');
    const ingress = await startProc('ingress', 'apps/ingress/src/main.ts');
    await until('simulator /healthz', () => httpOk(`${simUrl}/healthz`), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${sim.spawned.output().slice(-3000)}`);
    });
    await until('ingress /readyz', () => httpOk(`${ingressUrl}/readyz`), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${ingress.spawned.output().slice(-3000)}`);
    });
    for (let i = 0; i < (opts.dispatchers ?? 1); i++) await sys.startDispatcher();
    if (opts.ticker) await startProc('ticker', 'apps/ticker/src/main.ts');
  } catch (err) {
    await sys.stop();
    throw err;
  }
  return sys;
}

/** N SMS subscribers of `symbol`, numbers 4477009{base+i}. Returns their addresses. */
export async function seedSmsSubscribers(sys: System, n: number, symbol = 'MSFT', base = 10_000): Promise<string[]> {
  return seedSubscribers(sys, 'sms', n, symbol, base);
}

/** N subscribers of `symbol` on `channel` (through the store, so on any layout), numbers 4477009{base+i}. Returns their addresses. */
export async function seedSubscribers(sys: System, channel: Channel, n: number, symbol = 'MSFT', base = 10_000): Promise<string[]> {
  const addresses: string[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, (_, j) => `4477009${String(base + i + j).padStart(5, '0')}`);
    await Promise.all(batch.map((a) => sys.store.subscribe(channel, a, [symbol])));
    addresses.push(...batch);
  }
  return addresses;
}

/** Prints a scenario's figures on one line, `[chaos] <name> {json}`, for docs/reliability.md. */
export function report(name: string, figures: Record<string, unknown>): void {
  // eslint-disable-next-line no-console -- the figures are this suite's output
  console.log(`[chaos] ${name}`, JSON.stringify(figures));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Groups the simulator's messages by recipient. */
export function byRecipient(messages: SimMessage[]): Map<string, SimMessage[]> {
  const m = new Map<string, SimMessage[]>();
  for (const msg of messages) {
    let l = m.get(msg.to);
    if (!l) m.set(msg.to, (l = []));
    l.push(msg);
  }
  return m;
}
