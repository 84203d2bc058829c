/**
 * `npm start`: the whole system in one terminal. Starts a redis-server of its own when REDIS_URL
 * is unset, the simulator when no Vonage credentials are set, then the ingress, the ticker and
 * the dispatchers; prints where everything is; Ctrl-C stops it all in order.
 *
 *   npm start -- --dispatchers 3 --no-simulator
 *
 * `--cluster` (or REDIS_CLUSTER_NODES) runs everything on a Redis Cluster, a local one of its own
 * (3 primaries, a replica each) when nothing is configured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closeRedis, ConfigError, connectRedis, loadConfig, type Cluster } from '@tickercast/shared';
import { freePort } from './lib/free-port.ts';
import { LOCAL_CLUSTER_SEND_PARTITIONS, startLocalCluster, type LocalCluster } from './lib/local-cluster.ts';

const root = join(import.meta.dirname, '..');
const USAGE = `Usage: npm start -- [options]

Starts the whole system in this terminal: a redis-server of its own when REDIS_URL is unset,
the simulator when no Vonage credentials are set, then the ingress, the ticker and the
dispatchers. Ctrl-C stops everything. Configuration comes from the environment (README.md).

Options:
  --dispatchers N   dispatcher processes to run (1-32, default 1)
  --no-simulator    no simulator: send to VONAGE_API_URL (needs Vonage credentials)
  --cluster         on a Redis Cluster: REDIS_CLUSTER_NODES, or else a local one of its
                    own (3 primaries, a replica each)
  --quiet           do not print the processes' log lines
  -h, --help        this text
`;
let args: { dispatchers: string; 'no-simulator': boolean; cluster: boolean; quiet: boolean; help: boolean };
try {
  ({ values: args } = parseArgs({
    options: {
      dispatchers: { type: 'string', default: '1' },
      'no-simulator': { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  console.error(`${(err as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const dispatchers = Number(args.dispatchers);
if (!Number.isInteger(dispatchers) || dispatchers < 1 || dispatchers > 32) {
  console.error('--dispatchers must be a whole number from 1 to 32');
  process.exit(2);
}

const env: NodeJS.ProcessEnv = { ...process.env };
let useCluster = args.cluster;
try {
  const config = loadConfig(env);
  useCluster ||= config.REDIS_CLUSTER_NODES !== undefined;
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78);
  }
  throw err;
}

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}
const procs: Proc[] = [];
let redisProc: Proc | undefined;
let stopping = false;

const COLORS = [36, 35, 33, 32, 34, 31, 96, 95];
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Pino's JSON lines, shortened to `hh:mm:ss name level msg {extras}` for a terminal. */
function printLine(name: string, color: number, line: string): void {
  if (args.quiet || line.trim() === '') return;
  let text = line;
  try {
    const { time, level, msg, name: _n, pid: _p, hostname: _h, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const t = new Date(Number(time)).toTimeString().slice(0, 8);
    const extras = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    text = `${t} ${LEVELS[Number(level)] ?? level} ${String(msg ?? '')}${extras}`;
  } catch {
    // not JSON: print as is
  }
  process.stdout.write(`\x1b[${color}m${name.padEnd(12)}\x1b[0m ${text}\n`);
}

function launch(name: string, command: string, argv: string[], childEnv: NodeJS.ProcessEnv): Proc {
  const color = COLORS[procs.length % COLORS.length]!;
  // Own process group: Ctrl-C reaches only this script, which then stops children in order.
  const child = spawn(command, argv, { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) printLine(name, color, l);
    });
  }
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      if (!stopping) {
        printLine(name, color, `exited (${signal ?? code}) — stopping everything`);
        void shutdown(1);
      }
      resolve(code);
    });
    child.on('error', (err) => {
      printLine(name, color, `could not start: ${err.message}`);
      resolve(null);
      if (!stopping) void shutdown(1);
    });
  });
  const proc = { name, child, exited };
  return proc;
}


async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (stopping) throw new Error('stopping');
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs / 1000}s`);
}

const httpOk = (url: string) => async () => (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping…');
  // Producers first, then the workers, so nothing new arrives while jobs drain; Redis last.
  const order = ['ingress', 'ticker', 'simulator'];
  const apps = [...procs].sort((a, b) => {
    const ia = order.findIndex((n) => a.name.startsWith(n));
    const ib = order.findIndex((n) => b.name.startsWith(n));
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  for (const p of apps) p.child.kill('SIGTERM');
  const timeout = new Promise((r) => setTimeout(r, 25_000).unref());
  await Promise.race([Promise.all(apps.map((p) => p.exited)), timeout]);
  for (const p of apps) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  if (redisProc) {
    redisProc.child.kill('SIGTERM');
    await Promise.race([redisProc.exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    if (redisProc.child.exitCode === null) redisProc.child.kill('SIGKILL');
  }
  if (redisDir) rmSync(redisDir, { recursive: true, force: true });
  await localCluster?.close();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGHUP', () => void shutdown(0));
// If this script dies some other way, take the children with it: no orphans.
process.on('exit', () => {
  for (const p of [...procs, ...(redisProc ? [redisProc] : [])]) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

let redisDir: string | undefined;
let localCluster: LocalCluster | undefined;

/**
 * The Redis Cluster of REDIS_CLUSTER_NODES, or else a local one started for this run (its nodes
 * then go to REDIS_CLUSTER_NODES), checked as the apps would connect to it: through connectRedis.
 */
async function prepareCluster(): Promise<string[]> {
  if (!env.REDIS_CLUSTER_NODES?.trim()) {
    if (env.REDIS_URL?.trim()) {
      console.error(
        '--cluster starts a local Redis Cluster only when neither REDIS_URL nor REDIS_CLUSTER_NODES is set. For a cluster of yours, ' +
          'set REDIS_CLUSTER_NODES=host:port,… (its password and TLS go in REDIS_URL); for one Redis, leave out --cluster.',
      );
      await shutdown(2);
    }
    console.log('Starting a local Redis Cluster (3 primaries, a replica each)…');
    localCluster = await startLocalCluster();
    if (stopping) return [];
    env.REDIS_CLUSTER_NODES = localCluster.nodes.join(',');
    env.SEND_PARTITIONS ||= String(LOCAL_CLUSTER_SEND_PARTITIONS);
  }
  const cluster = connectRedis(loadConfig(env), { connectionName: 'npm-start', lazyConnect: true }) as Cluster;
  cluster.on('error', () => undefined); // a failed check below says what is wrong
  try {
    await waitFor('Redis Cluster', async () => /cluster_state:ok/.test(await cluster.cluster('INFO')), 20_000);
    return cluster.nodes('master').map((n) => `${n.options.host}:${n.options.port}`).sort();
  } finally {
    await closeRedis(cluster);
  }
}

async function main(): Promise<void> {
  let primaries: string[] = [];
  if (useCluster) {
    primaries = await prepareCluster();
    if (stopping) return;
  } else if (!env.REDIS_URL) {
    const port = await freePort();
    redisDir = mkdtempSync(join(tmpdir(), 'tickercast-redis-'));
    redisProc = launch('redis', 'redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', redisDir, '--maxmemory-policy', 'noeviction', '--loglevel', 'warning',
    ], env);
    env.REDIS_URL = `redis://127.0.0.1:${port}`;
    const { Redis } = await import('ioredis');
    await waitFor('redis-server', async () => {
      const r = new Redis(env.REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined); // not up yet: the next poll tries again
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } finally {
        r.disconnect();
      }
    }, 10_000).catch((err: Error) => {
      console.error(`${err.message}. Is redis-server installed? (apt-get install redis-server) Or set REDIS_URL.`);
      return shutdown(1);
    });
  }

  const hasCredentials = Boolean((env.VONAGE_APPLICATION_ID && env.VONAGE_PRIVATE_KEY) || (env.VONAGE_API_KEY && env.VONAGE_API_SECRET));
  const port = env.PORT ?? '9000';
  const simPort = env.SIMULATOR_PORT ?? '9100';
  const useSimulator = !hasCredentials && !args['no-simulator'];
  let generatedSecret = false;
  if (useSimulator) {
    // An application of our own making: the simulator checks the JWTs the dispatcher signs with it.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    env.VONAGE_APPLICATION_ID = randomUUID();
    env.VONAGE_PRIVATE_KEY = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    env.VONAGE_API_URL = `http://127.0.0.1:${simPort}`;
    env.SIMULATOR_WEBHOOK_URL ??= `http://127.0.0.1:${port}`;
    // Signed end to end locally too: the simulator signs every webhook with it, the ingress verifies.
    if (!env.VONAGE_SIGNATURE_SECRET && !env.VONAGE_SIGNATURE_SECRET_FILE) {
      env.VONAGE_SIGNATURE_SECRET = randomBytes(32).toString('base64url');
      generatedSecret = true;
    }
  } else if (!hasCredentials) {
    console.error('--no-simulator needs Vonage credentials: VONAGE_APPLICATION_ID + VONAGE_PRIVATE_KEY, or VONAGE_API_KEY + VONAGE_API_SECRET');
    return shutdown(2);
  }

  // Under npm start the operator pages are on (Bull Board is one reason to run this locally): a
  // throwaway token for this run, printed in ready-to-open addresses. Production sets its own or none.
  let generatedToken = false;
  if (!env.ADMIN_TOKEN) {
    env.ADMIN_TOKEN = randomBytes(24).toString('base64url');
    generatedToken = true;
  }

  const node = process.execPath;
  if (useSimulator) procs.push(launch('simulator', node, ['apps/simulator/src/main.ts'], env));
  procs.push(launch('ingress', node, ['apps/ingress/src/main.ts'], env));
  procs.push(launch('ticker', node, ['apps/ticker/src/main.ts'], env));
  for (let i = 1; i <= dispatchers; i++) {
    procs.push(launch(dispatchers > 1 ? `dispatcher-${i}` : 'dispatcher', node, ['apps/dispatcher/src/main.ts'], env));
  }

  await waitFor('ingress', httpOk(`http://127.0.0.1:${port}/readyz`));
  if (useSimulator) await waitFor('simulator', httpOk(`http://127.0.0.1:${simPort}/healthz`));

  const sms = env.SMS_FROM ?? '447700900000';
  // With a token of ours, the address carries it (the browser is logged in and sent on without it).
  const operator = (path: string) => `http://localhost:${port}${path}${generatedToken ? `?token=${env.ADMIN_TOKEN}` : ''}`;
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const lines = [
    '',
    '  tickercast is running',
    '',
    ...(useSimulator
      ? [
          `  Phone simulator    http://localhost:${simPort}/?channel=sms&number=447700900123`,
          `                     be a subscriber: text HELP, then MSFT, then STOP to ${sms}`,
          `  Sent messages      http://localhost:${simPort}/_sim/messages`,
        ]
      : [
          `  Sending through    ${env.VONAGE_API_URL ?? 'https://api.nexmo.com'} (no simulator)`,
          `  Set these webhook URLs in the Vonage dashboard (PUBLIC_URL = ${publicUrl}, where the internet reaches port ${port}):`,
          `    Messages API application   Inbound URL        ${publicUrl}/webhooks/inbound`,
          `                               Status URL         ${publicUrl}/webhooks/status`,
          `    SMS API account settings   Inbound SMS        ${publicUrl}/webhooks/inbound-sms`,
          `                               Delivery receipts  ${publicUrl}/webhooks/delivery-receipt`,
        ]),
    `  Dashboard          ${operator('/')}`,
    `  Web signup         http://localhost:${port}/signup`,
    `  Bull Board         ${operator('/admin/queues')}`,
    `  Admin API          curl -H 'Authorization: Bearer ${generatedToken ? env.ADMIN_TOKEN : '$ADMIN_TOKEN'}' http://localhost:${port}/admin/api/subscribers`,
    ...(generatedToken ? ['                     (a token generated for this run: opening an address above logs the browser in)'] : []),
    `  Webhooks           ${
      generatedSecret
        ? 'signed with a secret generated for this run'
        : env.VONAGE_SIGNATURE_SECRET || env.VONAGE_SIGNATURE_SECRET_FILE
          ? 'verified with VONAGE_SIGNATURE_SECRET'
          : 'NOT verified (set VONAGE_SIGNATURE_SECRET)'
    }`,
    `  Metrics            ${operator('/metrics')}`,
    `  Ingress            http://localhost:${port}/healthz  (webhooks under /webhooks/)`,
    ...(useCluster
      ? [
          `  Redis Cluster      ${env.REDIS_CLUSTER_NODES!.split(',').join(' ')}${localCluster ? '  (local, ephemeral, started for this run)' : ''}`,
          `  Primaries          ${primaries.join(' ')}`,
        ]
      : [`  Redis              ${env.REDIS_URL}${redisProc ? '  (ephemeral, started for this run)' : ''}`]),
    `  Dispatchers        ${dispatchers}`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));
}

main().catch((err: Error) => {
  if (!stopping) {
    console.error(err.message);
    void shutdown(1);
  }
});
