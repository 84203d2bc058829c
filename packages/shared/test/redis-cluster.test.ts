import { execFileSync } from 'node:child_process';
import { Queue, Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, connectRedis, loadConfig, type RedisClient } from '@tickercast/shared';
import { startLocalCluster, type ClusterNodeView, type LocalCluster } from '../../../scripts/lib/local-cluster.ts';
import { until } from '../../../test/support/processes.ts';
import { redisUrl } from '../../../test/support/redis.ts';

/*
 * A real Redis Cluster of six local redis-servers (3 primaries, a replica each), started once for
 * this file; its failover test comes last, as it leaves one node dead. A short node timeout makes
 * the failover take seconds; every wait polls the cluster's own account of itself.
 */
let local: LocalCluster;
const opened: RedisClient[] = [];

beforeAll(async () => {
  local = await startLocalCluster({ nodeTimeoutMs: 2000 });
}, 120_000);

afterAll(async () => {
  await Promise.all(opened.map((c) => closeRedis(c)));
  const dir = local?.dir;
  await local?.close();
  // Not one redis-server of this cluster left behind.
  if (dir) expect(pgrep(dir)).toEqual([]);
}, 60_000);

function pgrep(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

function clusterEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { REDIS_CLUSTER_NODES: local.nodes.join(','), ...extra };
}

function connect(env: NodeJS.ProcessEnv, options: Parameters<typeof connectRedis>[1] = {}): RedisClient {
  const client = connectRedis(loadConfig(env), options);
  opened.push(client);
  return client;
}

/** The primary serving `slot`, by the cluster's own CLUSTER NODES. */
function ownerOf(view: ClusterNodeView[], slot: number): ClusterNodeView | undefined {
  return view.find((n) => n.role === 'primary' && !n.failing && n.slots.some(([from, to]) => slot >= from && slot <= to));
}

describe('connectRedis', () => {
  it('without REDIS_CLUSTER_NODES it is the one Redis at REDIS_URL, as before', async () => {
    const client = connect({ REDIS_URL: redisUrl() }, { connectionName: 'single-test' });
    expect(client).toBeInstanceOf(Redis);
    expect(client).not.toBeInstanceOf(Cluster);
    expect(await client.ping()).toBe('PONG');
    expect(await (client as Redis).client('GETNAME')).toBe('single-test');
  });

  it('with REDIS_CLUSTER_NODES it is a Cluster, ready, whose node connections wait out outages as BullMQ requires', async () => {
    const client = connect(clusterEnv(), { connectionName: 'cluster-test' });
    expect(client).toBeInstanceOf(Cluster);
    const cluster = client as Cluster;
    await until('the cluster client ready', () => cluster.status === 'ready', 20_000);
    expect(cluster.options.redisOptions?.maxRetriesPerRequest).toBeNull();
    expect(cluster.options.enableReadyCheck).toBe(true);
    expect(await cluster.cluster('INFO')).toMatch(/cluster_state:ok/);
    // Every primary's connection carries the name.
    const masters = cluster.nodes('master');
    expect(masters.length).toBe(3);
    for (const node of masters) expect(await node.client('GETNAME')).toBe('cluster-test');
  });

  it('one seed is enough: the client learns every primary from it', async () => {
    const cluster = connect({ REDIS_CLUSTER_NODES: local.nodes[0]! }) as Cluster;
    await cluster.set('{seed}:k', 'v');
    expect(await cluster.get('{seed}:k')).toBe('v');
    expect(cluster.nodes('master').map((n) => `${n.options.host}:${n.options.port}`).sort()).toEqual([...local.primaries].sort());
  });

  it('keys with different hash tags live on different primaries, and each reads back', async () => {
    const cluster = connect(clusterEnv()) as Cluster;
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((tag) => `{${tag}}:price`);
    for (const key of keys) await cluster.set(key, key.toUpperCase());
    for (const key of keys) expect(await cluster.get(key)).toBe(key.toUpperCase());

    const view = await local.view();
    const owners = new Set<string>();
    for (const key of keys) {
      const slot = Number(await cluster.cluster('KEYSLOT', key));
      const owner = ownerOf(view, slot);
      expect(owner, `a primary serves slot ${slot}`).toBeDefined();
      // The key is on that primary itself, not merely reachable through a redirection.
      const node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner!.address)!;
      expect(await node.exists(key)).toBe(1);
      owners.add(owner!.address);
    }
    expect(owners.size).toBeGreaterThanOrEqual(2);
    // Keys sharing a tag share a slot: what lets a script or MULTI touch several of them.
    expect(await cluster.cluster('KEYSLOT', '{a}:one')).toBe(await cluster.cluster('KEYSLOT', '{a}:two'));
  });

  it('takes the user name and password from REDIS_URL for every node (its host is not used)', async () => {
    // An ACL user on every node (users are per node, not replicated); the default user stays open for the other tests.
    for (const address of local.nodes) {
      const [host, port] = address.split(':');
      const admin = new Redis({ host: host!, port: Number(port) });
      await admin.acl('SETUSER', 'tc-app', 'on', '>s3cr3t:pass', '~*', '&*', '+@all');
      await admin.quit();
    }
    const good = connect(clusterEnv({ REDIS_URL: 'redis://tc-app:s3cr3t%3Apass@unused.invalid:1' })) as Cluster;
    await good.set('{auth}:k', 'ok');
    expect(await good.get('{auth}:k')).toBe('ok');
    for (const node of good.nodes('master')) expect(await node.acl('WHOAMI')).toBe('tc-app');

    const bad = connect(clusterEnv({ REDIS_URL: 'redis://tc-app:wrong@unused.invalid:1' }), { retryStrategy: () => null }) as Cluster;
    const errors: string[] = [];
    bad.on('error', (err: Error & { lastNodeError?: Error }) => errors.push(err.lastNodeError?.message ?? err.message));
    await expect(bad.get('{auth}:k')).rejects.toThrow(/None of startup nodes is available/);
    expect(errors.join('\n')).toMatch(/WRONGPASS/);
  });

  it('rediss:// gives every node TLS', () => {
    const cluster = connectRedis(loadConfig(clusterEnv({ REDIS_URL: 'rediss://:pw@unused.invalid:6380' })), { lazyConnect: true }) as Cluster;
    expect(cluster.options.redisOptions?.tls).toEqual({});
    expect(cluster.options.redisOptions?.password).toBe('pw');
    expect(cluster.status).toBe('wait');
    cluster.disconnect();
  });
});

describe('BullMQ on the cluster', () => {
  it('a queue and a worker with a hash-tagged prefix add and process a job', async () => {
    const connection = connect(clusterEnv(), { connectionName: 'bullmq-test' });
    const queue = new Queue('work', { connection, prefix: '{q-test}' });
    const seen: unknown[] = [];
    const worker = new Worker('work', async (job) => {
      seen.push(job.data);
      return { doubled: (job.data as { n: number }).n * 2 };
    }, { connection, prefix: '{q-test}' });
    try {
      const done = new Promise<unknown>((resolve, reject) => {
        worker.on('completed', (_job, result) => resolve(result));
        worker.on('failed', (_job, err) => reject(err));
      });
      const job = await queue.add('double', { n: 21 });
      expect(await done).toEqual({ doubled: 42 });
      expect(seen).toEqual([{ n: 21 }]);
      expect(await queue.getJobState(job.id!)).toBe('completed');
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('without a hash tag the queue\'s keys span slots, and Redis refuses its scripts (CROSSSLOT)', async () => {
    const connection = connect(clusterEnv());
    const queue = new Queue('untagged', { connection, prefix: 'plain' });
    try {
      await expect(queue.add('x', {})).rejects.toThrow(/CROSSSLOT/);
    } finally {
      await queue.close();
    }
  });
});

describe('failover', () => {
  it('a primary SIGKILLed: its replica takes over its slots, and the same client keeps reading and writing them', async () => {
    const cluster = connect(clusterEnv()) as Cluster;
    const before = await local.view();
    const victim = before.find((n) => n.address === local.primaries[0])!;
    const replica = before.find((n) => n.primaryId === victim.id)!;
    expect(replica, 'the victim has a replica').toBeDefined();

    // A key in the victim's slots, written and acknowledged by its replica before the crash.
    let key = '';
    for (let i = 0; !key; i++) {
      const candidate = `{fo${i}}:k`;
      if (ownerOf(before, Number(await cluster.cluster('KEYSLOT', candidate)))?.id === victim.id) key = candidate;
    }
    await cluster.set(key, 'before');
    // WAIT on a connection of its own, as the read at the end: the client's own connection to the
    // node may be replaced while it refreshes its view just after connecting ("Connection is
    // closed" 12 ms into the test, once in a full run).
    const [host, port] = victim.address.split(':');
    const owner = new Redis({ host, port: Number(port), lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await owner.connect();
      expect(await owner.call('WAIT', '1', '10000')).toBe(1);
    } finally {
      owner.disconnect();
    }

    await local.kill(victim.address);

    await until('the replica promoted to primary of the dead node\'s slots', async () => {
      const view = await local.view().catch(() => []);
      const promoted = view.find((n) => n.id === replica.id);
      return promoted?.role === 'primary' && promoted.slots.length > 0 && view.find((n) => n.id === victim.id)?.failing;
    }, 60_000);
    await local.waitUntilOk(60_000);

    expect(await cluster.get(key)).toBe('before');
    await cluster.set(key, 'after');
    expect(await cluster.get(key)).toBe('after');
    const served = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === replica.address);
    expect(served, 'the client now knows the promoted replica as a primary').toBeDefined();
    // Read on a connection of its own: the client's own one to that node may still be replaced
    // while it refreshes its view (a replica's connection is not a primary's), closing under a command.
    const direct = new Redis({ host: served!.options.host, port: served!.options.port, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await direct.connect();
      expect(await direct.get(key)).toBe('after');
    } finally {
      direct.disconnect();
    }
  }, 120_000);
});
