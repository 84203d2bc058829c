import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_VARIABLES, loadConfig, requireSimulatorToken } from '@tickercast/shared';
import { repoRoot } from './support/processes.ts';

/*
 * The compose file and the Dockerfile checked as text, without Docker (npm test never needs an
 * engine): every service runs a file that exists, with variables the config schema knows.
 * `npm run test:compose` (test/compose/run.ts) builds and runs them for real.
 */

interface Service {
  build?: { target?: string };
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  restart?: string;
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  image?: string;
  hostname?: string;
}

const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const known = new Set(ENV_VARIABLES);
const apps = ['ingress', 'ticker', 'dispatcher', 'simulator'];

describe('docker-compose.yml', () => {
  it('has redis, ingress, ticker, dispatcher and simulator, and nothing else outside a profile', () => {
    const always = Object.entries(compose.services).filter(([, s]) => !s.profiles).map(([name]) => name);
    expect(always.sort()).toEqual(['dispatcher', 'ingress', 'redis', 'secrets', 'ticker']);
    expect(compose.services.simulator!.profiles).toEqual(['simulator']);
  });

  it('runs the apps in production, so an ingress without a signature secret would refuse to start', () => {
    expect(dockerfile).toMatch(/^ENV NODE_ENV=production$/m);
    for (const name of apps) {
      expect(compose.services[name]!.environment?.NODE_ENV).toBeUndefined();
      expect(compose.services[name]!.environment?.ALLOW_UNSIGNED_WEBHOOKS).toBeUndefined();
    }
  });

  it('signs webhooks out of the box: the secrets service generates one secret that the ingress and the simulator read', () => {
    const gen = compose.services.secrets!;
    expect(gen.volumes).toEqual(['secrets:/secrets']);
    const script = gen.command!.join(' ');
    expect(script).toContain('test -s /secrets/signature-secret ||');
    expect(script).toContain('/dev/urandom');
    for (const name of ['ingress', 'simulator']) {
      const s = compose.services[name]!;
      expect(s.depends_on?.secrets?.condition).toBe('service_completed_successfully');
      expect(s.volumes).toContain('secrets:/run/tickercast:ro');
      expect(s.environment?.VONAGE_SIGNATURE_SECRET_FILE).toBe('/run/tickercast/signature-secret');
    }
    expect(compose.services.dispatcher!.volumes).toBeUndefined();
  });

  it('guards the simulator: it listens on every interface for compose, and /_sim wants the token the secrets service generates', () => {
    const script = compose.services.secrets!.command!.join(' ');
    expect(script).toContain('test -s /secrets/simulator-token ||');
    expect(script).toMatch(/\/dev\/urandom[^&]*> \/secrets\/simulator-token\.tmp && mv \/secrets\/simulator-token\.tmp \/secrets\/simulator-token/);
    const sim = compose.services.simulator!;
    expect(sim.environment?.SIMULATOR_HOST).toBe('0.0.0.0');
    expect(sim.environment?.SIMULATOR_TOKEN_FILE).toBe('/run/tickercast/simulator-token');
    // Without a token the simulator would refuse to start on 0.0.0.0: the file is always there.
    expect(() => requireSimulatorToken(loadConfig({ SIMULATOR_HOST: sim.environment?.SIMULATOR_HOST }))).toThrow(/SIMULATOR_TOKEN: required when the simulator listens on 0\.0\.0\.0/);
    for (const name of ['ingress', 'ticker', 'dispatcher']) {
      expect(compose.services[name]!.environment?.SIMULATOR_TOKEN, name).toBeUndefined();
      expect(compose.services[name]!.environment?.SIMULATOR_TOKEN_FILE, name).toBeUndefined();
    }
  });

  it.each(apps)('%s builds a target the Dockerfile defines and runs its own main.ts', (name) => {
    const s = compose.services[name]!;
    expect(dockerfile).toMatch(new RegExp(`^FROM .+ AS ${s.build?.target}$`, 'm'));
    expect(s.command).toEqual(['node', `apps/${name}/src/main.ts`]);
    expect(existsSync(join(repoRoot, s.command![1]!))).toBe(true);
    expect(s.restart).toBe('unless-stopped');
    expect(s.depends_on?.redis?.condition).toBe('service_healthy');
  });

  it.each(apps)('%s sets only variables the config schema knows', (name) => {
    for (const key of Object.keys(compose.services[name]!.environment ?? {})) expect(known, key).toContain(key);
    expect(compose.services[name]!.environment?.REDIS_URL).toBe('redis://redis:6379');
  });

  it('publishes the ingress on 9000 and the simulator on 9100, each with a health check', () => {
    expect(compose.services.ingress!.ports).toEqual(['${PORT:-9000}:9000']);
    expect(compose.services.ingress!.environment?.PORT).toBe('9000');
    expect(compose.services.simulator!.ports).toEqual(['${SIMULATOR_PORT:-9100}:9100']);
    expect(compose.services.ingress!.healthcheck?.test.join(' ')).toContain('/readyz');
    expect(compose.services.simulator!.healthcheck?.test.join(' ')).toContain('/healthz');
  });

  it('can scale the dispatcher: it publishes no port and has no fixed name', () => {
    const d = compose.services.dispatcher as Service & { container_name?: string };
    expect(d.ports).toBeUndefined();
    expect(d.container_name).toBeUndefined();
  });

  it('runs Redis with AOF persistence and noeviction, on a volume, with a health check', () => {
    const r = compose.services.redis!;
    expect(r.command?.join(' ')).toMatch(/--appendonly yes/);
    expect(r.command?.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    expect(r.healthcheck?.test).toContain('ping');
  });

  it('reads alike in Docker Compose v2 and in docker-compose 1.29: no `version:` key, only conditions both know', () => {
    const raw = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as Record<string, unknown>;
    expect(raw.version).toBeUndefined();
    const conditions = Object.values(compose.services).flatMap((s) => Object.values(s.depends_on ?? {}).map((d) => d.condition));
    for (const c of conditions) expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(c);
  });

  it('hands ADMIN_TOKEN to the ingress, so Bull Board and the admin API can be turned on', () => {
    expect(compose.services.ingress!.environment?.ADMIN_TOKEN).toBe('${ADMIN_TOKEN:-}');
  });

  it('puts the simulator in a profile that .env turns on by default', () => {
    expect(compose.services.simulator!.profiles).toEqual(['simulator']);
    expect(readFileSync(join(repoRoot, '.env'), 'utf8')).toMatch(/^COMPOSE_PROFILES=simulator$/m);
    expect(compose.services.simulator!.environment?.SIMULATOR_WEBHOOK_URL).toBe('http://ingress:9000');
  });
});

describe('docker-compose.yml, the cluster profile', () => {
  const inCluster = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('cluster'));
  const nodes = inCluster.filter(([name]) => /^redis-node-\d+$/.test(name));
  const twins = apps.map((name) => [name, compose.services[name]!, compose.services[`${name}-cluster`]!] as const);

  it('holds six Redis nodes, the one-shot that joins them and a twin of each app, and only these', () => {
    expect(inCluster.map(([name]) => name).sort()).toEqual(
      [...nodes.map(([name]) => name), 'redis-cluster', ...apps.map((a) => `${a}-cluster`)].sort(),
    );
    expect(nodes).toHaveLength(6);
    for (const [name, s] of inCluster) expect(s.profiles, name).toEqual(['cluster']);
  });

  it('leaves the one-Redis system as it is: no service outside the profile depends on one inside it', () => {
    const cluster = new Set(inCluster.map(([name]) => name));
    for (const [name, s] of Object.entries(compose.services).filter(([, s]) => !s.profiles?.includes('cluster'))) {
      for (const dep of Object.keys(s.depends_on ?? {})) expect(cluster, `${name} → ${dep}`).not.toContain(dep);
    }
  });

  it('runs each node in cluster mode with AOF and noeviction, announcing its own name, on a volume of its own', () => {
    for (const [name, s] of nodes) {
      const command = s.command!.join(' ');
      expect(s.image, name).toBe(compose.services.redis!.image);
      expect(s.hostname, name).toBe(name);
      expect(command).toContain('--cluster-enabled yes');
      expect(command).toMatch(/--cluster-node-timeout \d+/);
      expect(command).toContain('--cluster-announce-hostname "$$HOSTNAME" --cluster-preferred-endpoint-type hostname');
      expect(command).toContain('--appendonly yes');
      expect(command).toContain('--maxmemory-policy noeviction');
      expect(s.volumes, name).toEqual([`${name}:/data`]);
      expect(s.healthcheck?.test).toContain('ping');
    }
  });

  it('joins the nodes once, 3 primaries with a replica each, after every node is healthy', () => {
    const join = compose.services['redis-cluster']!;
    expect(join.restart).toBe('no');
    expect(Object.keys(join.depends_on ?? {}).sort()).toEqual(nodes.map(([name]) => name).sort());
    for (const d of Object.values(join.depends_on ?? {})) expect(d.condition).toBe('service_healthy');
    const script = join.command!.join(' ');
    expect(script).toContain('redis-cli --cluster create $$addresses --cluster-replicas 1 --cluster-yes');
    for (const [name] of nodes) expect(script).toContain(name);
  });

  it.each(apps)('%s-cluster is %s with only the cluster settings changed', (name) => {
    const [, single, twin] = twins.find(([n]) => n === name)!;
    const changed = Object.entries(twin.environment ?? {}).filter(([k, v]) => single.environment?.[k] !== v);
    expect(Object.keys(single.environment ?? {}).filter((k) => !(k in (twin.environment ?? {})))).toEqual([]);
    if (name === 'simulator') {
      // It uses no Redis: its twin sends webhooks to the twin ingress.
      expect(Object.fromEntries(changed)).toEqual({ SIMULATOR_WEBHOOK_URL: 'http://ingress-cluster:9000' });
    } else {
      expect(changed.map(([k]) => k).sort()).toEqual(['PUBLIC_URL', 'REDIS_CLUSTER_NODES', 'REDIS_URL', 'SEND_PARTITIONS', 'VONAGE_API_URL']);
      // Every app splits a channel's sends the same way (the ingress adds replies, the dispatchers take them).
      expect(twin.environment!.SEND_PARTITIONS).toBe('${CLUSTER_SEND_PARTITIONS:-6}');
      const config = loadConfig({ REDIS_CLUSTER_NODES: twin.environment!.REDIS_CLUSTER_NODES, REDIS_URL: twin.environment!.REDIS_URL });
      expect(config.REDIS_CLUSTER_NODES).toEqual(nodes.map(([node]) => ({ host: node, port: 6379 })));
      expect(twin.environment!.VONAGE_API_URL).toBe('${VONAGE_API_URL:-http://simulator-cluster:9100}');
      expect(twin.depends_on?.['redis-cluster']?.condition).toBe('service_completed_successfully');
      // Compose stops in reverse dependency order: the app before the nodes its shutdown needs.
      for (const [node] of nodes) expect(twin.depends_on?.[node]?.condition, node).toBe('service_healthy');
    }
    expect(twin.command).toEqual(single.command);
    expect(twin.healthcheck).toEqual(single.healthcheck);
    expect(twin.volumes).toEqual(single.volumes);
    expect(twin.depends_on?.redis).toBeUndefined();
  });

  it('publishes the twins beside the one-Redis system: ingress-cluster on 9010, simulator-cluster on 9110', () => {
    expect(compose.services['ingress-cluster']!.ports).toEqual(['${CLUSTER_PORT:-9010}:9000']);
    expect(compose.services['ingress-cluster']!.environment?.PUBLIC_URL).toBe('${CLUSTER_PUBLIC_URL:-http://localhost:9010}');
    expect(compose.services['simulator-cluster']!.ports).toEqual(['${CLUSTER_SIMULATOR_PORT:-9110}:9100']);
    expect(compose.services['dispatcher-cluster']!.ports).toBeUndefined();
  });
});

describe('Dockerfile', () => {
  it('is multi-stage, runs as the unprivileged node user, and fails the build on a type error', () => {
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^FROM node:24/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/RUN npm run typecheck/);
  });
});
