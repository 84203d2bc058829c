import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { Redis } from 'ioredis';
import { freePort } from '../../scripts/lib/free-port.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}


async function waitForPong(url: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      if ((await r.ping()) === 'PONG') return;
    } catch {
      await new Promise((res) => setTimeout(res, 50));
    } finally {
      r.disconnect();
    }
  }
  throw new Error(`redis at ${url} did not answer PING`);
}

/** True when a Docker engine answers on its local socket (or DOCKER_HOST is set). */
function dockerReachable(): Promise<boolean> {
  if (process.env.DOCKER_HOST) return Promise.resolve(true);
  const socketPath = '/var/run/docker.sock';
  if (!existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * Every test runs against a real Redis: REDIS_URL when set; else a Redis container
 * (testcontainers) when a Docker engine is reachable; else a redis-server started here on a
 * free port (ephemeral, no persistence). Tests isolate themselves by key namespace.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.REDIS_URL) {
    await waitForPong(process.env.REDIS_URL);
    project.provide('redisUrl', process.env.REDIS_URL);
    return async () => {};
  }
  if (await dockerReachable()) {
    const { RedisContainer } = await import('@testcontainers/redis');
    const container = await new RedisContainer('redis:7-alpine').withCommand(['redis-server', '--maxmemory-policy', 'noeviction', '--save', '']).start();
    project.provide('redisUrl', container.getConnectionUrl());
    return async () => {
      await container.stop();
    };
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tickercast-test-redis-'));
  let child: ChildProcess;
  try {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    );
  } catch (err) {
    throw new Error('redis-server not found on PATH: install it (apt-get install redis-server) or set REDIS_URL', { cause: err });
  }
  child.on('error', (err) => {
    console.error(`redis-server could not start: ${err.message} (install it, or set REDIS_URL)`);
  });
  const url = `redis://127.0.0.1:${port}`;
  await waitForPong(url);
  project.provide('redisUrl', url);
  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  };
}
