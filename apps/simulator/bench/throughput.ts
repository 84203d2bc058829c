/*
 * How many POST /v1/messages one simulator process accepts per second, status webhooks off.
 *
 *   node apps/simulator/bench/throughput.ts [--concurrency 64] [--requests 100000] [--seconds 10] [--channel sms]
 *   node apps/simulator/bench/throughput.ts --url http://127.0.0.1:9100 --authorization 'Bearer …'
 *
 * Without --url it starts a simulator of its own in a child process (so client and server each
 * have a core), with a fresh application key, and sends RS256 JWT requests as the dispatcher does
 * (one token reused). Keep-alive connections, N requests in flight, bounded in count and time,
 * against 127.0.0.1 only.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';

const { values: args } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    url: { type: 'string' },
    authorization: { type: 'string' },
    concurrency: { type: 'string', default: '64' },
    requests: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2000' },
    channel: { type: 'string', default: 'sms' },
  },
});

const out = (line: string) => process.stdout.write(`${line}\n`);

if (args.serve) {
  // The child: a simulator alone in its process, status webhooks off.
  const { buildSimulator } = await import('../src/app.ts');
  const { credentialsFrom } = await import('../src/auth.ts');
  const { loadConfig, senderFor } = await import('@tickercast/shared');
  const sim = buildSimulator({
    credentials: credentialsFrom({ applicationId: process.env.BENCH_APPLICATION_ID, privateKey: process.env.BENCH_PRIVATE_KEY }),
    webhookBaseUrl: 'http://127.0.0.1:9',
    businessNumbers: senderFor(loadConfig({})),
    statusWebhooks: { enabled: false },
  });
  const address = await sim.app.listen({ port: 0, host: '127.0.0.1' });
  process.send?.({ address });
  process.on('disconnect', () => void sim.app.close().then(() => process.exit(0)));
} else {
  await bench();
}

async function startChild(): Promise<{ child: ChildProcess; url: string; authorization: string }> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const applicationId = randomUUID();
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ application_id: applicationId })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + 900)
    .setJti(randomUUID())
    .sign(privateKey);
  const child = fork(process.argv[1]!, ['--serve'], {
    env: { ...process.env, BENCH_APPLICATION_ID: applicationId, BENCH_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    execArgv: process.execArgv,
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { address: string }).address));
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  return { child, url, authorization: `Bearer ${token}` };
}

async function bench(): Promise<void> {
  const concurrency = Number(args.concurrency);
  const maxRequests = Number(args.requests);
  const maxMs = Number(args.seconds) * 1000;
  const warmupMs = Number(args.warmup);
  const own = args.url ? undefined : await startChild();
  const url = new URL(own?.url ?? args.url!);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error('this benchmark only targets 127.0.0.1');
  const authorization = own?.authorization ?? args.authorization;
  if (!authorization) throw new Error('--authorization is needed with --url');

  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const channel = args.channel!;
  const body = JSON.stringify({ channel, message_type: 'text', to: '447700900123', from: channel === 'sms' ? 'Tickercast' : '447700900001', text: 'MSFT 412.30 ▲ +1.20 (+0.29%)' });
  const headers = { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  const post = () =>
    new Promise<number>((resolve, reject) => {
      const req = request({ agent, host: url.hostname, port: url.port, path: '/v1/messages', method: 'POST', headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });

  // Warm up (JIT, connections), then measure.
  const warmUntil = Date.now() + warmupMs;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < warmUntil) await post();
  }));

  const statuses = new Map<number, number>();
  let sent = 0;
  const started = performance.now();
  const deadline = started + maxMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < maxRequests && performance.now() < deadline) {
        sent++;
        const status = await post();
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const accepted = statuses.get(202) ?? 0;
  agent.destroy();
  own?.child.disconnect();

  out(`requests      ${sent} in ${seconds.toFixed(2)} s, ${concurrency} in flight, keep-alive, ${channel}`);
  out(`statuses      ${[...statuses].map(([s, n]) => `${s}×${n}`).join(' ')}`);
  out(`accepted/s    ${Math.round(accepted / seconds)}`);
  if (accepted !== sent) process.exitCode = 1;
}
