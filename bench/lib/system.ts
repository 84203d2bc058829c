/**
 * The system under test, as real processes: a redis-server of the bench's own (no persistence),
 * or with `cluster` a local Redis Cluster of its own (3 primaries, a replica each; AOF switched
 * off so that it persists as little as the single redis-server), the simulator (status webhooks off, unlimited unless a scenario sets limits), dispatchers and,
 * when a scenario needs it, the ingress. An application key pair is generated as `npm start`
 * does, so the dispatchers sign RS256 JWTs the simulator verifies. The bench also holds its own
 * Redis connection, queues, subscription store and price cache: it seeds and ticks directly.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHANNELS,
  closeRedis,
  connectRedis,
  createQueues,
  createRedis,
  loadConfig,
  PriceCache,
  redisKeys,
  SubscriptionStore,
  type Channel,
  type Queues,
  type Cluster,
  type Redis,
  type RedisClient,
  type RedisKeys,
} from '@tickercast/shared';
import { LOCAL_CLUSTER_SEND_PARTITIONS, startLocalCluster, type LocalCluster } from '../../scripts/lib/local-cluster.ts';
import { freePort, launch, launchScript, waitFor, type Proc } from './procs.ts';

export const NAMESPACE = 'bench';

export interface LaneStats {
  limit: number;
  accepted: number;
  throttled: number;
  maxPerSecond: number;
}
export interface SimStats {
  channels: Record<Channel | 'all' | 'mms', LaneStats>;
}
export interface SimMessage {
  messageUuid: string;
  acceptedAt: string;
  channel: Channel;
  to: string;
  display: string;
}

export interface DispatcherOptions {
  count?: number;
  /** Extra environment: rates, concurrency, timeouts. */
  env?: Record<string, string>;
  /** Run each dispatcher with --cpu-prof into this directory. */
  profileDir?: string | undefined;
}

/** Every send queue's jobs not yet finished: waiting, prioritized, active, delayed. */
export interface Pending {
  total: number;
  byChannel: Record<Channel, number>;
}

/** A figure per Redis primary, by `host:port` (the one Redis has one). */
export type PerNode = Record<string, number>;

export class BenchSystem {
  /** On a local Redis Cluster of its own rather than one redis-server. */
  readonly clustered: boolean;
  /** SEND_PARTITIONS of the apps: on the cluster, the local cluster's (npm start --cluster's) number. */
  get sendPartitions(): number {
    return this.clustered ? LOCAL_CLUSTER_SEND_PARTITIONS : 1;
  }
  readonly keys: RedisKeys;
  redis!: RedisClient;
  queues!: Queues;
  store!: SubscriptionStore;
  prices!: PriceCache;
  /** The one redis-server's port and URL: unset on a cluster. */
  redisPort = 0;
  redisUrl = '';
  simUrl = '';
  ingressUrl = '';
  dispatchers: Proc[] = [];
  #ingressPort = 0;
  #ingress: Proc | undefined;
  #redisProc: Proc | undefined;
  #sim: Proc | undefined;
  #redisDir = '';
  #cluster: LocalCluster | undefined;
  /** A connection to each of the cluster's replicas (the cluster client talks to primaries only), for INFO. */
  #replicas: Redis[] = [];
  /** The cluster's redis-server pids by `host:port` (INFO server), for CPU accounting. */
  #nodePids: Record<string, number> = {};
  #app = { id: '', privateKey: '' };
  readonly profileDir: string | undefined;

  constructor(opts: { profileDir?: string | undefined; cluster?: boolean } = {}) {
    this.profileDir = opts.profileDir;
    this.clustered = opts.cluster ?? false;
    this.keys = redisKeys(NAMESPACE, { cluster: this.clustered });
  }

  async start(): Promise<void> {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#app = { id: randomUUID(), privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    if (!this.clustered) {
      this.redisPort = await freePort();
      this.redisUrl = `redis://127.0.0.1:${this.redisPort}`;
    }
    const simPort = await freePort();
    this.#ingressPort = await freePort();
    this.simUrl = `http://127.0.0.1:${simPort}`;
    this.ingressUrl = `http://127.0.0.1:${this.#ingressPort}`;

    // Redis and the simulator start side by side (the simulator needs no Redis).
    const cluster = this.clustered ? startLocalCluster() : undefined;
    if (!cluster) {
      this.#redisDir = mkdtempSync(join(tmpdir(), 'tickercast-bench-redis-'));
      // prettier-ignore
      this.#redisProc = launch('redis', 'redis-server', [
        '--port', String(this.redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', this.#redisDir, '--maxmemory-policy', 'noeviction', '--loglevel', 'warning',
      ], { PATH: process.env.PATH });
    }
    this.#sim = launchScript('simulator', 'apps/simulator/src/main.ts', {
      ...this.#appEnv(),
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      SIMULATOR_PORT: String(simPort),
      SIMULATOR_WEBHOOK_URL: this.ingressUrl,
      SIMULATOR_STATUS_WEBHOOKS: 'off',
      SIMULATOR_WHATSAPP_WINDOW: 'off',
    });

    if (cluster) {
      // The cluster waits for its own readiness: every slot served, every replica in sync.
      this.#cluster = await cluster;
      this.redis = connectRedis(loadConfig(this.#redisEnv()), { connectionName: 'bench' });
      this.redis.on('error', () => undefined);
      await waitFor('the cluster client', async () => (await this.redis.ping()) === 'PONG', 20_000, 50);
      const replicas = (await this.#cluster.view()).filter((n) => n.role === 'replica');
      this.#replicas = replicas.map((n) => createRedis(`redis://${n.address}`, { connectionName: 'bench' }));
      // As the single redis-server: no AOF (the local cluster is durable, as production runs it).
      await Promise.all(this.#nodes('all').map((n) => n.config('SET', 'appendonly', 'no')));
      for (const n of this.#nodes('all')) this.#nodePids[nodeAddress(n)] = Number(/^process_id:(\d+)/m.exec(await n.info('server'))?.[1]);
    } else {
      const redis = createRedis(this.redisUrl, { connectionName: 'bench', lazyConnect: true });
      this.redis = redis;
      // Refused connections while redis-server starts are expected; a real failure shows in waitFor.
      redis.on('error', () => undefined);
      await waitFor('redis-server', async () => {
        if (redis.status === 'wait') await redis.connect();
        return (await redis.ping()) === 'PONG';
      }, 10_000, 50, this.#redisProc);
    }
    this.queues = createQueues(this.redis, this.keys, { sendPartitions: this.sendPartitions });
    this.store = new SubscriptionStore(this.redis, this.keys);
    this.prices = new PriceCache(this.redis, this.keys);
    await waitFor('simulator', async () => (await fetch(`${this.simUrl}/healthz`)).ok, 20_000, 50, this.#sim);
  }

  /** The application's credentials, for a MessagesClient of the bench's own. */
  appAuth(): { kind: 'jwt'; applicationId: string; privateKey: string } {
    return { kind: 'jwt', applicationId: this.#app.id, privateKey: this.#app.privateKey };
  }

  /** Where Redis is, as the configuration takes it: REDIS_URL, or the cluster's REDIS_CLUSTER_NODES (REDIS_URL then left at its default). */
  #redisEnv(): Record<string, string> {
    if (!this.clustered) return { REDIS_URL: this.redisUrl };
    // The simulator, started while the cluster comes up, needs no Redis.
    return this.#cluster ? { REDIS_CLUSTER_NODES: this.#cluster.nodes.join(','), SEND_PARTITIONS: String(this.sendPartitions) } : {};
  }

  /** What every app process gets: Redis, namespace, the simulator as the API, the application's key. */
  #appEnv(): Record<string, string> {
    return {
      NODE_ENV: 'production',
      ...this.#redisEnv(),
      REDIS_NAMESPACE: NAMESPACE,
      VONAGE_API_URL: this.simUrl,
      VONAGE_APPLICATION_ID: this.#app.id,
      VONAGE_PRIVATE_KEY: this.#app.privateKey,
    };
  }

  /** Starts dispatchers and waits until each one's workers are listening on every send queue and the fan-out queue. */
  async startDispatchers(opts: DispatcherOptions = {}): Promise<Proc[]> {
    const count = opts.count ?? 1;
    const profileDir = opts.profileDir ?? this.profileDir;
    const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const started: Proc[] = [];
    for (let i = 0; i < count; i++) {
      const p = launchScript(`dispatcher-${this.dispatchers.length + 1}`, 'apps/dispatcher/src/main.ts', { ...this.#appEnv(), LOG_LEVEL: 'info', ...opts.env }, nodeArgs);
      started.push(p);
      this.dispatchers.push(p);
    }
    const want = this.dispatchers.length;
    await waitFor(
      `${want} dispatcher(s) on every queue`,
      async () => {
        for (const p of started) if (p.child.exitCode !== null) throw new Error(`${p.name} exited:\n${p.output().slice(-3000)}`);
        const counts = await Promise.all([this.queues.fanout, ...CHANNELS.map((c) => this.queues.send[c])].map((q) => q.getWorkersCount()));
        return counts.every((n) => n >= want);
      },
      30_000,
      50,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${started.map((p) => `--- ${p.name}\n${p.output().slice(-2000)}`).join('\n')}`);
    });
    return started;
  }

  async stopDispatchers(graceMs = 10_000): Promise<void> {
    await Promise.all(this.dispatchers.map((p) => p.stop(graceMs)));
    this.dispatchers = [];
  }

  async startIngress(): Promise<void> {
    this.#ingress = launchScript('ingress', 'apps/ingress/src/main.ts', {
      ...this.#appEnv(),
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(this.#ingressPort),
      PUBLIC_URL: this.ingressUrl,
      // The bench posts its webhooks unsigned (it has no signature secret): a production ingress must be told to take them.
      ALLOW_UNSIGNED_WEBHOOKS: 'true',
    });
    await waitFor('ingress', async () => (await fetch(`${this.ingressUrl}/readyz`)).ok, 20_000, 100, this.#ingress);
  }

  async stopIngress(): Promise<void> {
    await this.#ingress?.stop(5000);
    this.#ingress = undefined;
  }

  /** Between scenarios, with no dispatcher running: an empty Redis, a simulator with no messages, no faults, no limits. */
  async reset(): Promise<void> {
    if (this.dispatchers.length > 0) throw new Error('reset() with dispatchers running');
    await this.flushAll();
    await this.simDelete('/_sim/messages');
    await this.simDelete('/_sim/faults');
    await this.simLimits(Object.fromEntries([...CHANNELS, 'all'].map((c) => [c, 0])));
  }

  // --- the simulator's control API ---

  async #simRequest(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.simUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : res.json();
  }

  simDelete(path: string): Promise<unknown> {
    return this.#simRequest('DELETE', path);
  }

  simLimits(limits: Partial<Record<Channel | 'all', number>>): Promise<unknown> {
    return this.#simRequest('PATCH', '/_sim/settings', { rateLimits: limits });
  }

  simFaults(faults: Record<string, unknown>): Promise<unknown> {
    return this.#simRequest('POST', '/_sim/faults', faults);
  }

  async simStats(): Promise<SimStats> {
    return (await this.#simRequest('GET', '/_sim/stats')) as SimStats;
  }

  /** Everything accepted, as the simulator lists it (it filters its whole store: call it once per scenario, not in a loop). */
  async simMessages(query: Record<string, string | number> = {}): Promise<{ acceptedTotal: number; messages: SimMessage[] }> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
    return (await this.#simRequest('GET', `/_sim/messages?${qs}`)) as { acceptedTotal: number; messages: SimMessage[] };
  }

  /** The pid of every process of the system, by name: for CPU accounting. */
  pids(): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = { ...this.#redisPids(), simulator: this.#sim?.child.pid };
    for (const d of this.dispatchers) out[d.name] = d.child.pid;
    if (this.#ingress) out.ingress = this.#ingress.child.pid;
    return out;
  }

  /** The redis-server processes: `redis`, or on a cluster `redis <host:port>` each. */
  #redisPids(): Record<string, number | undefined> {
    if (!this.#cluster) return { redis: this.#redisProc?.child.pid };
    return Object.fromEntries(Object.entries(this.#nodePids).map(([addr, pid]) => [`redis ${addr}`, pid]));
  }

  // --- Redis: on a cluster, per node (INFO, CONFIG, FLUSHALL are one node's), summed over the primaries ---

  /** The primaries (or replicas, or both) as connections of the bench's client: the one Redis for a single redis-server. */
  #nodes(role: 'master' | 'slave' | 'all' = 'master'): Redis[] {
    if (!this.clustered) return role === 'slave' ? [] : [this.redis as Redis];
    const primaries = role === 'slave' ? [] : (this.redis as Cluster).nodes('master');
    return role === 'master' ? primaries : [...primaries, ...this.#replicas];
  }

  /** A number of INFO `section`, per primary by `host:port` (or per replica). */
  async #perNode(section: string, read: (info: string) => number, role: 'master' | 'slave' = 'master'): Promise<PerNode> {
    const nodes = this.#nodes(role);
    const infos = await Promise.all(nodes.map((n) => n.info(section)));
    return Object.fromEntries(nodes.map((n, i) => [nodeAddress(n), read(infos[i]!)]));
  }

  /** The hash slots each primary serves (`[from, to]` ranges), by `host:port`: none on one Redis. */
  async primarySlots(): Promise<Record<string, [number, number][]>> {
    if (!this.#cluster) return {};
    return Object.fromEntries((await this.#cluster.view()).filter((n) => n.role === 'primary').map((n) => [n.address, n.slots]));
  }

  /** Empties every primary (their replicas follow). */
  async flushAll(): Promise<void> {
    await Promise.all(this.#nodes().map((n) => n.flushall()));
  }

  /** Zeroes INFO commandstats (and the other resettable counters) on every primary. */
  async resetStats(): Promise<void> {
    await Promise.all(this.#nodes().map((n) => n.config('RESETSTAT')));
  }

  /** used_memory per primary. */
  usedMemoryByNode(): Promise<PerNode> {
    return this.#perNode('memory', (info) => Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN));
  }

  /** used_memory, summed over the primaries. */
  async usedMemory(): Promise<number> {
    return sum(await this.usedMemoryByNode());
  }

  /** CPU seconds each primary (or each replica) has used since it started (INFO cpu: used_cpu_sys + used_cpu_user). */
  redisCpuByNode(role: 'master' | 'slave' = 'master'): Promise<PerNode> {
    return this.#perNode('cpu', (info) => {
      const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
      return field('used_cpu_sys') + field('used_cpu_user');
    }, role);
  }

  /** CPU seconds the redis-server has used since it started, summed over the primaries on a cluster. */
  async redisCpuSeconds(): Promise<number> {
    return sum(await this.redisCpuByNode());
  }

  /** Redis' per-command counters (INFO commandstats), summed over the primaries: calls and µs per command name. resetStats() zeroes them. */
  async commandStats(): Promise<Record<string, { calls: number; usec: number }>> {
    const infos = await Promise.all(this.#nodes().map((n) => n.info('commandstats')));
    const out: Record<string, { calls: number; usec: number }> = {};
    for (const info of infos)
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
        const c = (out[m[1]!] ??= { calls: 0, usec: 0 });
        c.calls += Number(m[2]);
        c.usec += Number(m[3]);
      }
    return out;
  }

  /** Jobs not yet finished in every queue (waiting, prioritized, delayed, active), by queue name: send-<channel>, fanout, inbound, status. */
  async queueDepths(): Promise<Record<string, number>> {
    const queues = this.queues.all();
    const counts = await Promise.all(queues.map((q) => q.getJobCounts('waiting', 'prioritized', 'delayed', 'active')));
    return Object.fromEntries(queues.map((q, i) => [q.name, Object.values(counts[i]!).reduce((a, b) => a + b, 0)]));
  }

  async pendingSends(): Promise<Pending> {
    const pending = async (q: Queues['send'][Channel]): Promise<number> => {
      const c = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
      return Object.values(c).reduce((a, b) => a + b, 0);
    };
    const counts = await Promise.all(CHANNELS.map(async (c) => (await Promise.all(this.queues.sendQueues[c].map(pending))).reduce((a, b) => a + b, 0)));
    const byChannel = Object.fromEntries(CHANNELS.map((c, i) => [c, counts[i]!])) as Record<Channel, number>;
    return { total: Object.values(byChannel).reduce((a, b) => a + b, 0), byChannel };
  }

  /** Fan-out jobs not yet finished. */
  async fanoutPending(): Promise<number> {
    const c = await this.queues.fanout.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  /** True when no fan-out or send job is left. */
  async drained(): Promise<boolean> {
    return (await this.fanoutPending()) === 0 && (await this.pendingSends()).total === 0;
  }

  /** Jobs ever added to the send queues (BullMQ's id counters: one INCR per add, deduplicated or not). */
  async sendJobsAdded(): Promise<number> {
    // One GET per queue: on a cluster each queue has a slot of its own, so no MGET across them.
    const names = Object.values(this.queues.sendQueues).flatMap((qs) => qs.map((q) => q.name));
    const ids = await Promise.all(names.map((name) => this.redis.get(`${this.keys.queuePrefix(name)}:${name}:id`)));
    return ids.reduce((total, v) => total + Number(v ?? 0), 0);
  }

  async close(): Promise<void> {
    await this.stopDispatchers(5000);
    await this.stopIngress();
    await this.#sim?.stop(5000);
    if (this.queues) await this.queues.close().catch(() => undefined);
    if (this.redis) await closeRedis(this.redis);
    await Promise.all(this.#replicas.map((r) => closeRedis(r)));
    await this.#redisProc?.stop(5000);
    await this.#cluster?.close();
    if (this.#redisDir) rmSync(this.#redisDir, { recursive: true, force: true });
  }
}

function nodeAddress(n: Redis): string {
  return `${n.options.host}:${n.options.port}`;
}

function sum(perNode: PerNode): number {
  return Object.values(perNode).reduce((a, b) => a + b, 0);
}
