import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, configuredKeys, connectRedis, loadConfig, subscriberId, SubscriptionStore } from '@tickercast/shared';
import { startLocalCluster, type LocalCluster } from '../scripts/lib/local-cluster.ts';
import { freePort, portIsOpen, spawnScript, until, type Spawned } from './support/processes.ts';
import { redisUrl, testNamespace } from './support/redis.ts';

/*
 * The walking skeleton end to end: `npm start`'s script runs the real processes (simulator,
 * ingress, ticker, dispatcher), and the test only speaks HTTP to them, as a person with a phone
 * on the simulator would.
 */

interface Entry {
  direction: 'in' | 'out';
  text: string;
}

/** Where the system keeps its state: the test Redis, or a Redis Cluster of the test's own (3 primaries, a replica each). */
const ON = [
  { on: 'one Redis', redis: async () => ({ REDIS_URL: redisUrl() }) },
  {
    on: 'a Redis Cluster',
    redis: async (own: { cluster?: LocalCluster }) => {
      own.cluster = await startLocalCluster();
      return { REDIS_CLUSTER_NODES: own.cluster.nodes.join(',') };
    },
  },
];

describe.each(ON)('SMS subscriber, end to end over HTTP, on $on', ({ redis }) => {
  let system: Spawned;
  let sim: string;
  let ingress: string;
  const phone = '447700900777';
  const own: { cluster?: LocalCluster } = {};
  let env: Record<string, string>;

  beforeAll(async () => {
    // The cluster first: its six nodes take free ports of their own, and one of them once took the
    // simulator's, picked (and let go) before them (EADDRINUSE).
    env = { ...(await redis(own)), REDIS_NAMESPACE: testNamespace() };
    const port = await freePort();
    const simPort = await freePort();
    system = spawnScript('scripts/start.ts', {
      ...env,
      PORT: String(port),
      SIMULATOR_PORT: String(simPort),
      TICK_INTERVAL_MS: '250',
      LOG_LEVEL: 'warn',
    });
    await system.waitForOutput(/tickercast is running/, 60_000);
    sim = `http://127.0.0.1:${simPort}`;
    ingress = `http://127.0.0.1:${port}`;
  }, 90_000);

  afterAll(async () => {
    system.child.kill('SIGTERM');
    const { code } = await system.exited;
    await own.cluster?.close();
    expect(code).toBe(0);
  }, 40_000);

  const text = async (body: string) => {
    const res = await fetch(`${sim}/_sim/phones/sms/${phone}/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: body }),
    });
    expect(res.status).toBe(202);
    expect((await res.json()) as { webhook: unknown }).toMatchObject({ webhook: 200 });
  };
  const received = async (): Promise<string[]> => {
    const res = await fetch(`${sim}/_sim/phones/sms/${phone}`);
    const { conversation } = (await res.json()) as { conversation: Entry[] };
    return conversation.filter((e) => e.direction === 'out').map((e) => e.text);
  };

  it('"hello" gets the help: the commands and the tickers on offer', async () => {
    await text('hello');
    const [help] = await until('help reply', async () => ((await received()).length >= 1 ? received() : undefined));
    expect(help).toMatch(/STOP/);
    expect(help).toMatch(/MSFT/);
    expect(help).toMatch(/GOOGL/);
  }, 30_000);

  it('webhooks are signed end to end: npm start generates a secret, the simulator signs, a forged webhook is refused', async () => {
    expect(system.output()).toMatch(/Webhooks\s+signed with a secret generated for this run/);
    const forged = await fetch(`${ingress}/webhooks/inbound`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        channel: 'sms', message_type: 'text', text: 'MSFT', from: '447700900778', to: '447700900000',
        message_uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', timestamp: new Date().toISOString(),
      }),
    });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: string }).error).toBe('unauthorized webhook');
    // The forged number got nothing: no reply ever reached its phone.
    await new Promise((r) => setTimeout(r, 500));
    const res = await fetch(`${sim}/_sim/messages?to=447700900778`);
    expect(((await res.json()) as { messages: unknown[] }).messages).toEqual([]);
  }, 30_000);

  it('"MSFT" confirms with the current price, then a price message arrives at each tick', async () => {
    const before = (await received()).length;
    await text('MSFT');
    const after = await until('confirmation and two updates', async () => {
      const r = await received();
      return r.length >= before + 3 ? r : undefined;
    });
    const [confirmation, ...updates] = after.slice(before);
    expect(confirmation).toMatch(/Subscribed to MSFT/);
    expect(confirmation).toMatch(/MSFT \d+\.\d{2}/);
    for (const u of updates) expect(u).toMatch(/^MSFT \d+\.\d{2} [▲▼=] [+-]?\d+\.\d{2} \([+-]?\d+\.\d{2}%\)$/);
    // Kept where the system was told to keep it (on a cluster: through a cluster connection).
    const conn = connectRedis(loadConfig(env));
    try {
      const store = new SubscriptionStore(conn, configuredKeys(loadConfig(env)));
      expect(await store.get(subscriberId('sms', phone))).toMatchObject({ status: 'active', symbols: ['MSFT'] });
    } finally {
      await closeRedis(conn);
    }
  }, 30_000);

  it('"STOP" confirms, and no price message follows', async () => {
    await text('STOP');
    const all = await until('stop confirmation', async () => {
      const r = await received();
      return r.some((m) => /unsubscribed/i.test(m)) ? r : undefined;
    });
    const confirmationAt = all.findIndex((m) => /unsubscribed/i.test(m));
    // Many ticks' worth of waiting: nothing more may arrive.
    await new Promise((r) => setTimeout(r, 2000));
    const later = await received();
    expect(later.length).toBe(confirmationAt + 1);
  }, 30_000);
});

describe('npm start on a machine with nothing configured', () => {
  it('--help lists the flags; an unknown flag is a clear error and exit 2', async () => {
    const help = spawnScript('scripts/start.ts', {}, ['--help']);
    expect((await help.exited).code).toBe(0);
    for (const flag of ['--dispatchers N', '--no-simulator', '--quiet', '--help']) expect(help.output()).toContain(flag);
    const bogus = spawnScript('scripts/start.ts', {}, ['--dispatcher', '3']);
    expect((await bogus.exited).code).toBe(2);
    expect(bogus.output()).toMatch(/Unknown option '--dispatcher'/);
    expect(bogus.output()).toContain('Usage: npm start');
  });

  it('turns Bull Board and the admin API on with a token of the run, printed in ready-to-open addresses', async () => {
    const port = await freePort();
    const simPort = await freePort();
    const system = spawnScript('scripts/start.ts', { REDIS_URL: redisUrl(), REDIS_NAMESPACE: testNamespace(), PORT: String(port), SIMULATOR_PORT: String(simPort), LOG_LEVEL: 'warn' });
    try {
      await system.waitForOutput(/tickercast is running/, 60_000);
      const [, board, token] = system.output().match(/Bull Board\s+http:\/\/localhost:\d+(\/admin\/queues\?token=([\w-]+))/)!;
      expect(system.output()).toContain(`curl -H 'Authorization: Bearer ${token}' http://localhost:${port}/admin/api/subscribers`);
      const login = await fetch(`http://127.0.0.1:${port}${board}`, { redirect: 'manual' });
      expect(login.status).toBe(303);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      const page = await fetch(`http://127.0.0.1:${port}/admin/queues`, { headers: { cookie } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      expect((await fetch(`http://127.0.0.1:${port}/admin/api/subscribers`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/admin/queues`)).status).toBe(401);
    } finally {
      system.child.kill('SIGINT');
      expect((await system.exited).code).toBe(0);
    }
  }, 90_000);

  it('starts its own redis-server, prints the URLs, and Ctrl-C leaves nothing running', async () => {
    const port = await freePort();
    const simPort = await freePort();
    const system = spawnScript('scripts/start.ts', { PORT: String(port), SIMULATOR_PORT: String(simPort), LOG_LEVEL: 'warn' });
    const [, redisPort] = await system.waitForOutput(/Redis\s+redis:\/\/127\.0\.0\.1:(\d+)\s+\(ephemeral/, 60_000);
    expect(system.output()).toContain(`http://localhost:${simPort}/`);
    expect(system.output()).toContain(`http://localhost:${port}/`);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    system.child.kill('SIGINT');
    const { code } = await system.exited;
    expect(code).toBe(0);
    for (const p of [port, simPort, Number(redisPort)]) expect(await portIsOpen(p)).toBe(false);
  }, 90_000);
});
