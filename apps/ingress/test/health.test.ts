import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, createQueues, createRedis, redisKeys } from '@tickercast/shared';
import { buildIngress } from '../src/app.ts';
import { freePort } from '../../../test/support/processes.ts';
import { redisUrl, testRedis } from '../../../test/support/redis.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));


const t = testRedis();
const queues = createQueues(t.redis, t.keys);
const app = buildIngress({ queues, redis: t.redis, keys: t.keys });
const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await app.close();
  await queues.close();
  await t.cleanup();
});

describe('health', () => {
  it('/healthz answers 200', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true });
  });

  it('/readyz answers 200 while Redis answers', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true });
  });

  it('/readyz answers 503, at once, when Redis cannot be reached', async () => {
    const port = await freePort();
    const down = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 1000 });
    down.on('error', () => {});
    cleanups.push(() => down.disconnect());
    const sick = buildIngress({ queues, redis: down, keys: t.keys });
    cleanups.push(() => sick.close());

    const started = Date.now();
    const res = await sick.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ ok: false, error: expect.stringMatching(/^redis: /) });
    expect(Date.now() - started).toBeLessThan(2_000);
    // Liveness does not depend on Redis.
    expect((await sick.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('/readyz answers 503, not a hang, with the connection settings the app really uses', async () => {
    const port = await freePort();
    // createRedis waits out an outage (maxRetriesPerRequest: null): a bare PING would never return.
    const down = createRedis(`redis://127.0.0.1:${port}`);
    down.on('error', () => {});
    cleanups.push(() => down.disconnect());
    const sick = buildIngress({ queues, redis: down, keys: t.keys });
    cleanups.push(() => sick.close());

    const started = Date.now();
    const res = await sick.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('failures that are ours', () => {
  it('a webhook that cannot be enqueued (its connection to Redis closed) is a 503 (so Vonage retries) and its log line holds no phone number', async () => {
    const written: string[] = [];
    const logger = createLogger('ingress', 'info', {
      hooks: {
        streamWrite: (s: string) => {
          written.push(s);
          return '';
        },
      },
    });
    // Queues on a connection that is closed once they are ready: every add fails.
    const conn = createRedis(redisUrl());
    const broken = createQueues(conn, redisKeys(`${t.namespace}:broken`));
    await Promise.all(broken.all().map((q) => q.waitUntilReady()));
    await conn.ping(); // after the queues' own start-up writes, which went first on this connection
    await conn.quit();
    const sick = buildIngress({ queues: broken, redis: t.redis, keys: t.keys, logger });
    cleanups.push(async () => {
      await sick.close();
      await broken.close().catch(() => {});
    });

    const res = await sick.inject({
      method: 'GET',
      url: `/webhooks/inbound-sms?${new URLSearchParams({ msisdn: '447700900123', to: '447700900000', messageId: 'ABC1', text: 'MSFT' })}`,
    });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: 'temporarily unavailable', reason: 'redis unavailable', code: 'REDIS_UNAVAILABLE' });
    const out = written.join('');
    expect(out).toContain('redis unavailable: answered 503');
    expect(out).toContain('/webhooks/inbound-sms');
    expect(out).not.toContain('447700900123');
  });
});

/** Runs main.ts with only `env` (and PATH) until it exits on its own: its exit code and what it wrote to stderr. */
function runMain(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['apps/ingress/src/main.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('main.ts', () => {
  it('exits 78 naming each bad variable when the environment is bad', async () => {
    const { code, stderr } = await runMain({ PORT: 'abc', REDIS_URL: 'nope' });
    expect(code).toBe(78);
    expect(stderr).toMatch(/PORT: /);
    expect(stderr).toMatch(/REDIS_URL: /);
  });

  it('in production, refuses to start without a signature secret (exit 78, saying what to set)', async () => {
    const { code, stderr } = await runMain({ NODE_ENV: 'production', PORT: '0', REDIS_URL: redisUrl() });
    expect(code).toBe(78);
    expect(stderr).toMatch(/VONAGE_SIGNATURE_SECRET: required in production/);
    expect(stderr).toMatch(/ALLOW_UNSIGNED_WEBHOOKS=true/);
  });

  it('starts, answers /healthz and /readyz on its port, and shuts down on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['apps/ingress/src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redisUrl(), REDIS_NAMESPACE: `${t.namespace}-main`, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const until = Date.now() + 10_000;
      let ready: Response | undefined;
      while (Date.now() < until) {
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        if (ready) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready?.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const left = await t.redis.keys(`${t.namespace}-main:*`);
    if (left.length > 0) await t.redis.unlink(...left);
  });
});
