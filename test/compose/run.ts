/**
 * `npm run test:compose`: the stack as people run it, in a real Docker engine.
 *
 *   1. a Docker engine: the one that answers, else a dockerd of our own (engine.ts), stopped at the end;
 *      none can be started → "skipped: no Docker engine", exit 0
 *   2. the base images the Dockerfile and docker-compose.yml name: present, else pulled, else built
 *      locally by scripts/docker-base.sh (same tags; an image already there is kept)
 *   3. the project image from the real Dockerfile (`compose build`)
 *   4. the real docker-compose.yml up, simulator profile, `--scale dispatcher=2`, and from outside
 *      through the published ports: /readyz; an SMS HELP then MSFT through the simulator's phone
 *      API get the help and then prices; Bull Board answers with the token (and not without);
 *      both dispatcher containers took send jobs (Bull Board's processedBy); `restart redis`
 *      loses no subscription (AOF on its volume)
 *   5. `--profile simulator --profile cluster up` beside it: the six Redis nodes, the one-shot
 *      that joins them (and, run again, finds the cluster up) and the apps' twins on
 *      REDIS_CLUSTER_NODES; an SMS MSFT through the twins' simulator gets a price; CLUSTER INFO
 *      says ok, with 3 primaries that each hold keys
 *   6. `down -v`, then no container, network or volume of the project is left
 *
 * TICKERCAST_COMPOSE=v1|v2 picks the Compose CLI; TICKERCAST_DOCKER_DATA moves the started
 * engine's data-root (default ~/.cache/tickercast/docker).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../scripts/lib/free-port.ts';
import { parseClusterNodes } from '../../scripts/lib/local-cluster.ts';
import { findCompose, type Compose } from './compose.ts';
import { aptInstall, dataRoot, ensureEngine, type Engine } from './engine.ts';
import { commandExists, log, runLoud, runOk, runQuiet, sleep, waitFor } from './shell.ts';

const root = join(import.meta.dirname, '..', '..');
const PROJECT = 'tickercast-compose-test';
const PROFILE = 'simulator';
const CLUSTER_PROFILE = 'cluster';
const DISPATCHERS = 2;
/** Host ports that were free a moment ago (a stack people run may hold 9000, 9100, 9010 and 9110), and a token for the admin surfaces. */
const ports: Ports = {
  ingress: String(await freePort()),
  simulator: String(await freePort()),
  clusterIngress: String(await freePort()),
  clusterSimulator: String(await freePort()),
};
const adminToken = randomBytes(16).toString('hex');

const timings: [string, number][] = [];
async function step<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  const started = Date.now();
  log(`— ${name}`);
  try {
    return await fn();
  } finally {
    timings.push([name, (Date.now() - started) / 1000]);
  }
}

function check(ok: unknown, what: string): asserts ok {
  if (!ok) throw new Error(`check failed: ${what}`);
  log(`ok: ${what}`);
}

/** The tags the project pulls: FROM lines of the Dockerfile, `image:` lines of the compose file (not its own). */
function baseImages(): string[] {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
  const stages = new Set([...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]!));
  const from = [...dockerfile.matchAll(/^FROM\s+(\S+)/gim)].map((m) => m[1]!).filter((t) => !stages.has(t));
  const images = [...compose.matchAll(/^\s+image:\s+"?([^"\s]+)"?/gm)].map((m) => m[1]!).filter((t) => !t.startsWith('tickercast:'));
  return [...new Set([...from, ...images])];
}

async function ensureBaseImages(env: NodeJS.ProcessEnv): Promise<void> {
  const missing = () => baseImages().filter((t) => runQuiet('docker', ['image', 'inspect', t], env).status !== 0);
  for (const tag of missing()) {
    const pulled = runQuiet('docker', ['pull', '-q', tag], env);
    log(pulled.status === 0 ? `pulled ${tag}` : `${tag} cannot be pulled (${pulled.stderr.trim().split('\n').pop()})`);
  }
  if (missing().length === 0) return log(`base images present: ${baseImages().join(', ')}`);
  log(`building local stand-ins with scripts/docker-base.sh: ${missing().join(', ')}`);
  if (!commandExists('debootstrap')) aptInstall('debootstrap');
  await runLoud(join(root, 'scripts', 'docker-base.sh'), [], env);
  const still = missing();
  if (still.length) throw new Error(`base images still missing: ${still.join(', ')}`);
}

interface Ports {
  ingress: string;
  simulator: string;
  clusterIngress: string;
  clusterSimulator: string;
}

async function http(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
}

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const r = await http(url, init);
  if (!r.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

interface ConversationEntry {
  direction: 'in' | 'out';
  text: string;
}

class Phone {
  readonly number: string;
  readonly base: string;
  readonly token: string;
  constructor(number: string, base: string, token: string) {
    this.number = number;
    this.base = base;
    this.token = token;
  }
  private get auth() {
    return { authorization: `Bearer ${this.token}` };
  }
  async send(text: string): Promise<void> {
    const r = await json<{ webhook: number | string }>(`${this.base}/_sim/phones/sms/${this.number}/send`, {
      method: 'POST',
      headers: { ...this.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    });
    if (r.webhook !== 200) throw new Error(`the ingress answered the inbound webhook with ${r.webhook}`);
  }
  async received(): Promise<string[]> {
    const r = await json<{ conversation: ConversationEntry[] }>(`${this.base}/_sim/phones/sms/${this.number}`, { headers: this.auth });
    return r.conversation.filter((e) => e.direction === 'out').map((e) => e.text);
  }
  /** Waits for a message received after the first `after` ones that matches. */
  async waitFor(what: string, after: number, match: (text: string) => boolean, timeoutMs = 60_000): Promise<string> {
    return waitFor(`${what} on SMS ${this.number}`, timeoutMs, async () => (await this.received()).slice(after).find(match));
  }
}

interface BoardQueue {
  name: string;
  counts: Record<string, number>;
  jobs: { id: string; processedBy?: string | null }[];
}

async function main(): Promise<'passed' | 'failed' | 'skipped'> {
  const engine = await step('Docker engine', ensureEngine);
  if (typeof engine === 'string') {
    log(engine);
    process.stdout.write('skipped: no Docker engine\n');
    return 'skipped';
  }
  log(`engine: Docker ${engine.version} (${engine.kind === 'started' ? `started by this test, ${engine.storage}, data-root ${dataRoot()}` : 'already running'})`);
  /** The whole project, the cluster profile's services too: what is cleaned up and reported. */
  let all: Compose | undefined;
  try {
    const env = composeEnv(engine);
    const found = findCompose(PROJECT, env, [PROFILE]);
    if (typeof found === 'string') throw new Error(found);
    const compose = found;
    const withCluster = findCompose(PROJECT, env, [PROFILE, CLUSTER_PROFILE]);
    if (typeof withCluster === 'string') throw new Error(withCluster);
    all = withCluster;
    log(`compose: ${compose.name} ${compose.version}`);
    await step('base images', () => ensureBaseImages(engine.env));
    // Leftovers of an interrupted run would hold the ports and the volumes.
    all.quiet('down', '-v', '--remove-orphans');
    // The app services share one image (tickercast:latest): building one builds it for all.
    await step('project image (compose build)', () => compose.loud('build', 'ingress'));
    await stack(compose);
    await clusterStack(all);
    await down(all, env);
    return 'passed';
  } catch (err) {
    log(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
    if (all) {
      log('compose ps and the last log lines of each service:');
      process.stdout.write(all.quiet('ps').stdout);
      process.stdout.write(all.quiet('logs', '--no-color', '--tail', '40').stdout);
    }
    return 'failed';
  } finally {
    if (all) all.quiet('down', '-v', '--remove-orphans');
    // In our own engine's cache, untagged images older than a week. Younger ones stay: the build's
    // deps and check stages are untagged too, and are what makes the next build skip its npm ci.
    if (engine.kind === 'started') runQuiet('docker', ['image', 'prune', '-f', '--filter', 'until=168h'], engine.env);
    await engine.stop();
    for (const [name, s] of timings) log(`time ${name}: ${s.toFixed(1)} s`);
  }
}

function composeEnv(engine: Engine): NodeJS.ProcessEnv {
  const env = { ...engine.env };
  // The compose file's own defaults, but for what this test must choose: nothing from the caller's Vonage.
  for (const k of Object.keys(env)) if (k.startsWith('VONAGE_') || k === 'SIMULATOR_TOKEN' || k === 'COMPOSE_PROFILES') delete env[k];
  Object.assign(env, {
    PORT: ports.ingress,
    SIMULATOR_PORT: ports.simulator,
    PUBLIC_URL: `http://localhost:${ports.ingress}`,
    CLUSTER_PORT: ports.clusterIngress,
    CLUSTER_SIMULATOR_PORT: ports.clusterSimulator,
    CLUSTER_PUBLIC_URL: `http://localhost:${ports.clusterIngress}`,
    ADMIN_TOKEN: adminToken,
    // Quicker ticks than the default 5 s, so prices arrive within the test's patience.
    TICK_INTERVAL_MS: '1000',
  });
  return env;
}

async function stack(compose: Compose): Promise<void> {
  const ingress = `http://127.0.0.1:${ports.ingress}`;
  const simulator = `http://127.0.0.1:${ports.simulator}`;
  await step(`compose up --scale dispatcher=${DISPATCHERS}`, () => compose.loud('up', '-d', '--no-build', '--scale', `dispatcher=${DISPATCHERS}`));

  await step('ingress /readyz', async () => {
    const body = await waitFor('the ingress /readyz', 120_000, async () => {
      const r = await http(`${ingress}/readyz`);
      return r.ok ? r.text() : undefined;
    });
    check(true, `GET /readyz on the published port ${ports.ingress}: 200 ${body.slice(0, 80)}`);
  });

  const simToken = await step('simulator', async () => {
    await waitFor('the simulator /healthz', 120_000, async () => ((await http(`${simulator}/healthz`)).ok ? true : undefined));
    // The token the secrets service generated, read the way the README says.
    const token = compose.ok('exec', '-T', 'simulator', 'cat', '/run/tickercast/simulator-token').trim();
    check(/^[0-9a-f]{64}$/.test(token), 'the simulator token from the secrets volume');
    const refused = await http(`${simulator}/_sim/phones`);
    check(refused.status === 401, `/_sim without the token from outside the container: ${refused.status}`);
    return token;
  });

  const phone = new Phone(`4477009${String(Date.now()).slice(-5)}`, simulator, simToken);
  await step('SMS HELP, then MSFT', async () => {
    await phone.send('HELP');
    const help = await phone.waitFor('the help', 0, (t) => t.startsWith('tickercast: live prices by message.'));
    check(help.includes('MSFT'), `HELP answered with the help: ${JSON.stringify(help.split('\n')[0])}`);
    const seen = (await phone.received()).length;
    await phone.send('MSFT');
    const confirmation = await phone.waitFor('the confirmation', seen, (t) => t.includes('Subscribed to MSFT'));
    check(true, `MSFT answered: ${JSON.stringify(confirmation.split('\n')[0])}`);
    const after = (await phone.received()).indexOf(confirmation) + 1;
    const price = await phone.waitFor('a price after the confirmation', after, (t) => /^MSFT \d+\.\d{2}/.test(t));
    check(true, `then a price: ${JSON.stringify(price)}`);
  });

  const admin = { authorization: `Bearer ${adminToken}` };
  const sendQueue = await step('Bull Board', async () => {
    const page = await http(`${ingress}/admin/queues`, { headers: admin });
    check(page.ok && (await page.text()).includes('<html'), `GET /admin/queues with the token: ${page.status}`);
    const without = await http(`${ingress}/admin/queues`);
    check(without.status === 401, `GET /admin/queues without it: ${without.status}`);
    const { queues } = await json<{ queues: BoardQueue[] }>(`${ingress}/admin/queues/api/queues`, { headers: admin });
    const sms = queues.find((q) => q.name.endsWith('send-sms'));
    check(sms, `Bull Board lists ${queues.length} queues, among them ${sms?.name}`);
    return sms.name;
  });

  await step(`both dispatchers took send jobs`, async () => {
    const ids = compose.ok('ps', '-q', 'dispatcher').trim().split(/\s+/).filter(Boolean);
    check(ids.length === DISPATCHERS, `${ids.length} dispatcher containers running`);
    // More subscribers, so each tick makes several send jobs for the dispatchers to share.
    const crowd = Array.from({ length: 8 }, (_, i) => new Phone(`4477008${String(Date.now() + i).slice(-5)}`, simulator, simToken));
    for (const p of crowd) await p.send('MSFT GOOGL AAPL');
    // A container's hostname is the first 12 characters of its id: the workers' name starts with it.
    const byDispatcher = await waitFor('completed send jobs from every dispatcher', 90_000, async () => {
      const url = `${ingress}/admin/queues/api/queues?activeQueue=${encodeURIComponent(sendQueue)}&status=completed&page=1&jobsPerPage=500`;
      const { queues } = await json<{ queues: BoardQueue[] }>(url, { headers: admin });
      const jobs = queues.find((q) => q.name === sendQueue)?.jobs ?? [];
      const counts = ids.map((id) => jobs.filter((j) => j.processedBy?.startsWith(`${id.slice(0, 12)}:`)).length);
      return counts.every((n) => n > 0) ? counts : undefined;
    }, 2000);
    check(true, `completed SMS send jobs per dispatcher container (Bull Board processedBy): ${byDispatcher.join(', ')}`);
  });

  await step('restart redis keeps every subscription', async () => {
    type Subscribers = { subscribers: { id: string; createdAt: string; symbols: string[]; status: string }[] };
    const snapshot = async () => {
      const { subscribers } = await json<Subscribers>(`${ingress}/admin/api/subscribers?limit=500`, { headers: admin });
      return subscribers.map((s) => `${s.id} ${s.createdAt} ${s.status} ${[...s.symbols].sort().join(',')}`).sort();
    };
    // The crowd's commands may still be running (a record is made before its symbols are added):
    // wait for every phone with all it asked for, so the snapshot is what Redis must keep.
    const before = await waitFor('every phone subscribed to what it asked for', 60_000, async () => {
      const now = await snapshot();
      const full = now.filter((line) => line.endsWith(' AAPL,GOOGL,MSFT')).length;
      return now.length === 9 && full === 8 ? now : undefined;
    });
    check(before.length === 9, `${before.length} subscribers before the restart, 8 with AAPL, GOOGL and MSFT`);
    // appendfsync everysec: give the last write its second on disk.
    await sleep(1500);
    await compose.loud('restart', 'redis');
    await waitFor('the ingress /readyz after the restart', 120_000, async () => ((await http(`${ingress}/readyz`)).ok ? true : undefined));
    const after = await waitFor('the subscribers after the restart', 60_000, async () => snapshot());
    const lost = before.filter((line) => !after.includes(line));
    const gained = after.filter((line) => !before.includes(line));
    check(lost.length === 0 && gained.length === 0, `the same ${after.length} subscribers and symbols after compose restart redis${lost.length + gained.length ? ` (before only: ${JSON.stringify(lost)}; after only: ${JSON.stringify(gained)})` : ''}`);
    // And the system still works on the restarted Redis: LIST answers from the kept subscriptions.
    const seen = (await phone.received()).length;
    await phone.send('LIST');
    const list = await phone.waitFor('the LIST reply', seen, (t) => t.includes('MSFT') && !/^MSFT \d/.test(t));
    check(true, `LIST after the restart: ${JSON.stringify(list.split('\n')[0])}`);
  });
}

/** The `cluster` profile, up beside the one-Redis stack as `docker compose --profile simulator --profile cluster up` brings it. */
async function clusterStack(compose: Compose): Promise<void> {
  const ingress = `http://127.0.0.1:${ports.clusterIngress}`;
  const simulator = `http://127.0.0.1:${ports.clusterSimulator}`;
  await step(`compose --profile ${PROFILE} --profile ${CLUSTER_PROFILE} up`, () => compose.loud('up', '-d', '--no-build', '--scale', `dispatcher=${DISPATCHERS}`));

  await step('cluster: ingress-cluster /readyz, simulator-cluster /healthz', async () => {
    await waitFor('the ingress-cluster /readyz', 120_000, async () => ((await http(`${ingress}/readyz`)).ok ? true : undefined));
    check(true, `GET /readyz on ingress-cluster's published port ${ports.clusterIngress}: 200`);
    await waitFor('the simulator-cluster /healthz', 120_000, async () => ((await http(`${simulator}/healthz`)).ok ? true : undefined));
    // The apps waited for it (service_completed_successfully): it ended, and said why.
    const made = compose.ok('logs', '--no-color', 'redis-cluster');
    check(/cluster_state:ok on all six nodes/.test(made), `redis-cluster joined the nodes: ${JSON.stringify(made.trim().split('\n').pop())}`);
  });

  await step('cluster: SMS MSFT gets a price', async () => {
    const token = compose.ok('exec', '-T', 'simulator-cluster', 'cat', '/run/tickercast/simulator-token').trim();
    const phone = new Phone(`4477007${String(Date.now()).slice(-5)}`, simulator, token);
    await phone.send('MSFT');
    const confirmation = await phone.waitFor('the confirmation', 0, (t) => t.includes('Subscribed to MSFT'));
    check(true, `MSFT answered through ingress-cluster: ${JSON.stringify(confirmation.split('\n')[0])}`);
    const after = (await phone.received()).indexOf(confirmation) + 1;
    const price = await phone.waitFor('a price after the confirmation', after, (t) => /^MSFT \d+\.\d{2}/.test(t));
    check(true, `then a price: ${JSON.stringify(price)}`);
  });

  await step('cluster: CLUSTER INFO ok, 3 primaries holding keys', async () => {
    const redis = (...args: string[]) => compose.ok('exec', '-T', 'redis-node-1', 'redis-cli', ...args);
    const state = /^cluster_state:(\w+)/m.exec(redis('cluster', 'info'))?.[1];
    check(state === 'ok', `CLUSTER INFO on redis-node-1: cluster_state:${state}`);
    const view = parseClusterNodes(redis('cluster', 'nodes'));
    const primaries = view.filter((n) => n.role === 'primary' && n.slots.length > 0);
    const replicas = view.filter((n) => n.role === 'replica');
    check(primaries.length === 3 && replicas.length === 3, `${primaries.length} primaries serving slots, ${replicas.length} replicas`);
    const keys = primaries.map((p) => {
      const [host, port] = [p.address.slice(0, p.address.lastIndexOf(':')), p.address.slice(p.address.lastIndexOf(':') + 1)];
      return Number(redis('-h', host, '-p', port, 'dbsize').trim());
    });
    check(keys.every((n) => n > 0), `keys on each primary (DBSIZE): ${keys.join(', ')}`);
  });

  await step('cluster: redis-cluster run again finds the cluster up', async () => {
    const again = compose.ok('run', '--rm', '-T', '--no-deps', 'redis-cluster');
    check(/the cluster is up already/.test(again), `a second run: ${JSON.stringify(again.trim().split('\n'))}`);
  });
}

async function down(compose: Compose, env: NodeJS.ProcessEnv): Promise<void> {
  await step('compose down -v leaves nothing', async () => {
    await compose.loud('down', '-v', '--remove-orphans');
    const label = `label=com.docker.compose.project=${PROJECT}`;
    const left = {
      containers: runOk('docker', ['ps', '-aq', '--filter', label], env).trim(),
      networks: runOk('docker', ['network', 'ls', '-q', '--filter', label], env).trim(),
      volumes: runOk('docker', ['volume', 'ls', '-q', '--filter', label], env).trim(),
      // Named as compose names them, in case a Compose version leaves a label off.
      'volumes by name': runOk('docker', ['volume', 'ls', '-q', '--filter', `name=${PROJECT}_`], env).trim(),
      'networks by name': runOk('docker', ['network', 'ls', '-q', '--filter', `name=${PROJECT}_`], env).trim(),
    };
    for (const [kind, ids] of Object.entries(left)) check(ids === '', `no ${kind} of project ${PROJECT} left${ids ? `: ${ids}` : ''}`);
  });
}

const started = Date.now();
const outcome = await main();
log(`${outcome} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(outcome === 'failed' ? 1 : 0);
