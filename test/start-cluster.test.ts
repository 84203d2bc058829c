import { describe, expect, it } from 'vitest';
import { freePort, portIsOpen, spawnScript, until } from './support/processes.ts';

describe('npm start -- --cluster', () => {
  it('is in the usage', async () => {
    const help = spawnScript('scripts/start.ts', {}, ['--help']);
    expect((await help.exited).code).toBe(0);
    expect(help.output()).toContain('--cluster');
  });

  it('with nothing configured: starts a local cluster and the whole system on it, prints its nodes, answers a text, and Ctrl-C leaves no node running', async () => {
    const port = await freePort();
    const simPort = await freePort();
    const system = spawnScript('scripts/start.ts', { LOG_LEVEL: 'warn', PORT: String(port), SIMULATOR_PORT: String(simPort) }, ['--cluster']);
    try {
      await system.waitForOutput(/tickercast is running/, 90_000);
      const out = system.output();
      const nodes = [...(out.match(/Redis Cluster\s+(.*?)\s+\(local, ephemeral, started for this run\)/)?.[1] ?? '').matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      expect(nodes, out).toHaveLength(6);
      const primaries = [...(out.match(/Primaries\s+(.*)/)?.[1] ?? '').matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      expect(primaries).toHaveLength(3);
      for (const p of primaries) expect(nodes).toContain(p);

      // A person texts a ticker through the simulator and is answered: the apps run on the cluster.
      const phone = '447700900555';
      const sent = await fetch(`http://127.0.0.1:${simPort}/_sim/phones/sms/${phone}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'MSFT' }) });
      expect(((await sent.json()) as { webhook: unknown }).webhook).toBe(200);
      const reply = await until('the confirmation', async () => {
        const { conversation } = (await (await fetch(`http://127.0.0.1:${simPort}/_sim/phones/sms/${phone}`)).json()) as { conversation: { direction: string; text: string }[] };
        return conversation.find((e) => e.direction === 'out')?.text;
      }, 30_000);
      expect(reply).toMatch(/^Subscribed to MSFT/);

      system.child.kill('SIGINT');
      expect((await system.exited).code).toBe(0);
      for (const p of [...nodes, port, simPort]) expect(await portIsOpen(p)).toBe(false);
    } finally {
      system.child.kill('SIGKILL');
    }
  }, 150_000);

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
