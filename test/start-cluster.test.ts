import { describe, expect, it } from 'vitest';
import { portIsOpen, spawnScript } from './support/processes.ts';

describe('npm start -- --cluster', () => {
  it('is in the usage', async () => {
    const help = spawnScript('scripts/start.ts', {}, ['--help']);
    expect((await help.exited).code).toBe(0);
    expect(help.output()).toContain('--cluster');
    expect(help.output()).toMatch(/not\s+cluster-ready/);
  });

  it('with nothing configured: starts a local cluster, checks it, says the apps are not cluster-ready, stops it and exits 1', async () => {
    const system = spawnScript('scripts/start.ts', { LOG_LEVEL: 'warn' }, ['--cluster']);
    const { code } = await system.exited;
    const out = system.output();
    expect(code, out).toBe(1);
    const nodes = [...(out.match(/Redis Cluster\s+(.*?)\s+\(local, started for this run\)/)?.[1] ?? '').matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    expect(nodes).toHaveLength(6);
    const primaries = [...(out.match(/Primaries\s+(.*)/)?.[1] ?? '').matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    expect(primaries).toHaveLength(3);
    for (const p of primaries) expect(nodes).toContain(p);
    expect(out).toMatch(/the apps are not cluster-ready yet/);
    expect(out).not.toMatch(/tickercast is running/);
    // Stopped before the exit: no node left listening.
    for (const p of nodes) expect(await portIsOpen(p)).toBe(false);
  }, 120_000);

  it('with REDIS_URL but no REDIS_CLUSTER_NODES it starts nothing and says what to set (exit 2)', async () => {
    const system = spawnScript('scripts/start.ts', { REDIS_URL: 'redis://127.0.0.1:1' }, ['--cluster']);
    expect((await system.exited).code).toBe(2);
    expect(system.output()).toMatch(/set REDIS_CLUSTER_NODES=host:port/);
    expect(system.output()).not.toMatch(/Starting a local Redis Cluster/);
  });

  it('a bad REDIS_CLUSTER_NODES is a configuration error (exit 78) naming it', async () => {
    const system = spawnScript('scripts/start.ts', { REDIS_CLUSTER_NODES: 'redis-1:7000,,redis-2:7000' }, ['--cluster']);
    expect((await system.exited).code).toBe(78);
    expect(system.output()).toMatch(/REDIS_CLUSTER_NODES: an empty item/);
  });
});
