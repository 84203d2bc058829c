import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portIsOpen, until } from './processes.ts';

/**
 * A redis-server of a test's own, for tests that stop and start Redis (the shared test Redis must
 * stay up for every other file). Durable as production runs it (AOF, fsync at every write), so
 * what Redis answered before a stop is there after the start.
 */
export interface OwnRedis {
  url: string;
  port: number;
  /** SIGTERM, and wait for the process to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory, and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops it and deletes its directory. */
  close(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tickercast-own-redis-'));
  let child: ChildProcess | undefined;
  let stopping: Promise<void> | undefined;
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const start = async () => {
    // A stop under way ends first; one already running stays. A second process on the port would
    // fail to bind while the first answered for it, and the first would then outlive close().
    await stopping;
    if (running()) return;
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    );
    await until('redis-server accepting connections', () => portIsOpen(port), 10_000);
  };
  const stop = () => {
    const c = child;
    if (!c || !running()) return stopping ?? Promise.resolve();
    stopping ??= (async () => {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const hard = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(hard);
    })().finally(() => {
      stopping = undefined;
    });
    return stopping;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
