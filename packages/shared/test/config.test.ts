import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ENV_VARIABLES, isLoopback, loadConfig, requireSimulatorToken, requireWebhookSecret, senderFor, vonageAuth } from '@tickercast/shared';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** loadConfig's error, or a failed test when it did not throw one. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** The variable names a ConfigError's issues point at (the text before the first `:` or `.`). */
function badVariables(err: ConfigError): string[] {
  return [...new Set(err.issues.map((i) => i.split(/[:.]/)[0] ?? i))].sort();
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const tmp = mkdtempSync(join(tmpdir(), 'tickercast-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('config defaults', () => {
  it('an empty environment gives a working local configuration', () => {
    const c = loadConfig({});
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.REDIS_NAMESPACE).toBe('tc');
    expect(c.PORT).toBe(9000);
    expect(c.HOST).toBe('0.0.0.0');
    expect(c.PUBLIC_URL).toBe('http://localhost:9000');
    expect(c.VONAGE_API_URL).toBe('https://api.nexmo.com');
    expect(c.VONAGE_TIMEOUT_MS).toBe(10_000);
    expect(c.SIMULATOR_PORT).toBe(9100);
    expect(c.SIMULATOR_WEBHOOK_URL).toBe('http://127.0.0.1:9000');
    expect(c.TICKER_SYMBOLS).toEqual(expect.arrayContaining(['MSFT', 'GOOGL']));
    expect(c.TICK_INTERVAL_MS).toBe(5000);
    expect(c.DISPATCHER_CONCURRENCY).toBe(50);
    expect(c.NODE_ENV).toBe('development');
    expect(c.LOG_LEVEL).toBe('info');
    expect(c.VONAGE_APPLICATION_ID).toBeUndefined();
    expect(c.VONAGE_PRIVATE_KEY).toBeUndefined();
    expect(c.VONAGE_API_KEY).toBeUndefined();
    expect(c.VONAGE_API_SECRET).toBeUndefined();
  });

  it('each channel has a default sender id', () => {
    expect(senderFor(loadConfig({}))).toEqual({
      sms: '447700900000',
      whatsapp: '447700900001',
      messenger: '107083064136738',
      viber_service: '16273',
    });
  });

  it('numbers given as strings are coerced and URLs lose their trailing slash', () => {
    const c = loadConfig({ PORT: '8080', TICK_INTERVAL_MS: '250', VONAGE_API_URL: 'https://messages-sandbox.nexmo.com///' });
    expect(c.PORT).toBe(8080);
    expect(c.TICK_INTERVAL_MS).toBe(250);
    expect(c.VONAGE_API_URL).toBe('https://messages-sandbox.nexmo.com');
  });

  it('ticker symbols are split on commas and spaces and upper-cased', () => {
    expect(loadConfig({ TICKER_SYMBOLS: ' msft, googl  BRK.B ' }).TICKER_SYMBOLS).toEqual(['MSFT', 'GOOGL', 'BRK.B']);
  });

  it('PORT="" means the default port, not port 0', () => {
    expect(loadConfig({ PORT: '' }).PORT).toBe(9000);
    expect(loadConfig({ PORT: '  ', SIMULATOR_PORT: '' }).SIMULATOR_PORT).toBe(9100);
  });

  it('every variable set to nothing (or blanks) gives exactly the defaults', () => {
    const defaults = loadConfig({});
    expect(loadConfig(Object.fromEntries(ENV_VARIABLES.map((v) => [v, ''])))).toEqual(defaults);
    expect(loadConfig(Object.fromEntries(ENV_VARIABLES.map((v) => [v, ' \t '])))).toEqual(defaults);
  });

  it('blank optional credentials count as unset', () => {
    const c = loadConfig({ VONAGE_APPLICATION_ID: '  ', VONAGE_PRIVATE_KEY: '', VONAGE_API_KEY: '', VONAGE_API_SECRET: ' ' });
    expect(vonageAuth(c)).toBeUndefined();
  });
});

describe('config errors', () => {
  it('a bad environment is refused with every bad variable named at once', () => {
    const err = configError({
      PORT: 'abc',
      REDIS_URL: 'http://x',
      TICK_INTERVAL_MS: '-1',
      TICKER_SYMBOLS: 'msft,$$$,ABCDEFGHIJKL',
      SIMULATOR_PORT: '70000',
    });
    expect(badVariables(err)).toEqual(['PORT', 'REDIS_URL', 'SIMULATOR_PORT', 'TICKER_SYMBOLS', 'TICK_INTERVAL_MS']);
    expect(err.message).toMatch(/^invalid configuration:/);
    for (const name of ['PORT', 'REDIS_URL', 'SIMULATOR_PORT', 'TICKER_SYMBOLS', 'TICK_INTERVAL_MS']) {
      expect(err.message).toContain(name);
    }
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['REDIS_URL', 'http://x'],
    ['REDIS_URL', 'nope'],
    ['REDIS_NAMESPACE', 'has:colon'],
    ['VONAGE_API_URL', 'ftp://api.nexmo.com'],
    ['TICK_INTERVAL_MS', '-1'],
    ['TICK_INTERVAL_MS', '10'],
    ['TICKER_SYMBOLS', 'msft,$$$'],
    ['TICKER_SYMBOLS', 'ABCDEFGHIJKL'],
    ['TICKER_SYMBOLS', ' , '],
    ['DISPATCHER_CONCURRENCY', '0'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
  ])('%s=%j is refused and named', (name, value) => {
    expect(badVariables(configError({ [name]: value }))).toEqual([name]);
  });

  it('rediss:// is accepted for REDIS_URL', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://user:pw@redis.example:6380/2' }).REDIS_URL).toBe('rediss://user:pw@redis.example:6380/2');
  });

  it('an application id without a private key is an error naming the key', () => {
    expect(badVariables(configError({ VONAGE_APPLICATION_ID: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab' }))).toEqual(['VONAGE_PRIVATE_KEY']);
  });

  it('a private key without an application id is an error naming the id', () => {
    expect(badVariables(configError({ VONAGE_PRIVATE_KEY: PEM }))).toEqual(['VONAGE_APPLICATION_ID']);
  });

  it('an API key without its secret is an error naming the secret, and the reverse', () => {
    expect(badVariables(configError({ VONAGE_API_KEY: 'abcd1234' }))).toEqual(['VONAGE_API_SECRET']);
    expect(badVariables(configError({ VONAGE_API_SECRET: 's3cr3t' }))).toEqual(['VONAGE_API_KEY']);
  });

  it('missing credential halves are reported together with other bad variables', () => {
    const err = configError({ PORT: 'abc', VONAGE_APPLICATION_ID: 'app', VONAGE_API_KEY: 'abcd1234' });
    expect(badVariables(err)).toEqual(['PORT', 'VONAGE_API_SECRET', 'VONAGE_PRIVATE_KEY']);
  });

  it('a private key that is neither PEM nor a readable file is an error', () => {
    const err = configError({ VONAGE_APPLICATION_ID: 'app', VONAGE_PRIVATE_KEY: join(tmp, 'missing.key') });
    expect(badVariables(err)).toEqual(['VONAGE_PRIVATE_KEY']);
    expect(err.issues.join('\n')).toMatch(/neither PEM text nor a readable file/);
  });
});

describe('Vonage credentials', () => {
  it('a private key given as a file path is read from the file', () => {
    const path = join(tmp, 'private.key');
    writeFileSync(path, PEM);
    const c = loadConfig({ VONAGE_APPLICATION_ID: 'app-id', VONAGE_PRIVATE_KEY: path });
    expect(c.VONAGE_PRIVATE_KEY).toBe(PEM);
  });

  it('a PEM with literal \\n sequences (one-line env files) is unescaped', () => {
    const oneLine = PEM.trim().replace(/\n/g, '\\n');
    expect(oneLine).not.toContain('\n');
    const c = loadConfig({ VONAGE_APPLICATION_ID: 'app-id', VONAGE_PRIVATE_KEY: oneLine });
    expect(c.VONAGE_PRIVATE_KEY).toBe(PEM.trim());
    expect(c.VONAGE_PRIVATE_KEY?.split('\n')[0]).toBe('-----BEGIN PRIVATE KEY-----');
  });

  it('JWT auth is preferred when both an application and an API key are configured', () => {
    const c = loadConfig({ VONAGE_APPLICATION_ID: 'app-id', VONAGE_PRIVATE_KEY: PEM, VONAGE_API_KEY: 'abcd1234', VONAGE_API_SECRET: 's3cr3t' });
    expect(vonageAuth(c)).toEqual({ kind: 'jwt', applicationId: 'app-id', privateKey: PEM.trim() });
  });

  it('Basic auth is used with only an API key and secret', () => {
    const c = loadConfig({ VONAGE_API_KEY: 'abcd1234', VONAGE_API_SECRET: 's3cr3t' });
    expect(vonageAuth(c)).toEqual({ kind: 'basic', apiKey: 'abcd1234', apiSecret: 's3cr3t' });
  });

  it('no credentials means no auth', () => {
    expect(vonageAuth(loadConfig({}))).toBeUndefined();
  });
});

describe('an app started with a bad environment', () => {
  function run(script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [script], {
        cwd: ROOT,
        // Only what is given: no REDIS_URL or VONAGE_* from the developer's shell.
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it('exits 78 (EX_CONFIG) naming each bad variable, before connecting to anything', async () => {
    const { code, stderr } = await run(join(ROOT, 'apps/ticker/src/main.ts'), { PORT: 'abc', REDIS_URL: 'nope', TICK_INTERVAL_MS: '-1' });
    expect(code).toBe(78);
    expect(stderr).toContain('invalid configuration');
    expect(stderr).toMatch(/PORT: /);
    expect(stderr).toMatch(/REDIS_URL: /);
    expect(stderr).toMatch(/TICK_INTERVAL_MS: /);
  });

  it('loadConfigOrExit in any script does the same', async () => {
    const script = join(tmp, 'load.ts');
    const shared = join(ROOT, 'packages/shared/src/index.ts');
    writeFileSync(script, `import { loadConfigOrExit } from ${JSON.stringify(shared)};\nloadConfigOrExit();\nconsole.log('unreachable');\n`);
    const { code, stdout, stderr } = await run(script, { SIMULATOR_PORT: '70000', VONAGE_API_KEY: 'abcd1234' });
    expect(code).toBe(78);
    expect(stdout).not.toContain('unreachable');
    expect(stderr).toMatch(/SIMULATOR_PORT: /);
    expect(stderr).toMatch(/VONAGE_API_SECRET: /);
  });

  it('a good environment loads without exiting', async () => {
    const script = join(tmp, 'ok.ts');
    const shared = join(ROOT, 'packages/shared/src/index.ts');
    writeFileSync(script, `import { loadConfigOrExit } from ${JSON.stringify(shared)};\nconsole.log(loadConfigOrExit().PORT);\n`);
    const { code, stdout } = await run(script, { PORT: '9123' });
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('9123');
  });
});

describe('webhook verification', () => {
  const SECRET = 'a-signature-secret-of-32-chars!!';

  it('a production ingress without a signature secret is refused, naming what to set', () => {
    const config = loadConfig({ NODE_ENV: 'production' });
    expect(() => requireWebhookSecret(config)).toThrow(ConfigError);
    expect(() => requireWebhookSecret(config)).toThrow(/VONAGE_SIGNATURE_SECRET: required in production.*ALLOW_UNSIGNED_WEBHOOKS=true/s);
  });

  it('ALLOW_UNSIGNED_WEBHOOKS=true is the explicit way to run a production ingress unsigned', () => {
    expect(() => requireWebhookSecret(loadConfig({ NODE_ENV: 'production', ALLOW_UNSIGNED_WEBHOOKS: 'true' }))).not.toThrow();
    expect(loadConfig({}).ALLOW_UNSIGNED_WEBHOOKS).toBe(false);
  });

  it('with a secret, production starts; in development an unset secret is only warned about', () => {
    expect(() => requireWebhookSecret(loadConfig({ NODE_ENV: 'production', VONAGE_SIGNATURE_SECRET: SECRET }))).not.toThrow();
    expect(() => requireWebhookSecret(loadConfig({}))).not.toThrow();
  });

  it('a secret shorter than 16 characters is refused', () => {
    expect(badVariables(configError({ VONAGE_SIGNATURE_SECRET: 'short' }))).toEqual(['VONAGE_SIGNATURE_SECRET']);
  });

  it('VONAGE_SIGNATURE_SECRET_FILE gives the secret from a file; the variable itself wins when both are set', () => {
    const file = join(tmp, 'signature-secret');
    writeFileSync(file, `${SECRET}\n`);
    expect(loadConfig({ VONAGE_SIGNATURE_SECRET_FILE: file }).VONAGE_SIGNATURE_SECRET).toBe(SECRET);
    expect(loadConfig({ VONAGE_SIGNATURE_SECRET_FILE: file, VONAGE_SIGNATURE_SECRET: 'another-secret-0123456789' }).VONAGE_SIGNATURE_SECRET).toBe(
      'another-secret-0123456789',
    );
    expect(() => requireWebhookSecret(loadConfig({ NODE_ENV: 'production', VONAGE_SIGNATURE_SECRET_FILE: file }))).not.toThrow();
  });

  it('a secret file that is missing or too short is a configuration error', () => {
    expect(badVariables(configError({ VONAGE_SIGNATURE_SECRET_FILE: join(tmp, 'absent') }))).toEqual(['VONAGE_SIGNATURE_SECRET_FILE']);
    const short = join(tmp, 'short-secret');
    writeFileSync(short, 'abc\n');
    expect(badVariables(configError({ VONAGE_SIGNATURE_SECRET_FILE: short }))).toEqual(['VONAGE_SIGNATURE_SECRET_FILE']);
  });
});

describe('TRUST_PROXY', () => {
  it('defaults to false: no X-Forwarded-For is believed unless a proxy is named', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).TRUST_PROXY).toEqual(['10.0.0.0/8', '127.0.0.1']);
  });
});

describe('the simulator on the network', () => {
  const TOKEN = 'sim-control-token-0123456789';

  it('listens on loopback by default, whatever HOST the ingress has; /_sim needs no token there', () => {
    const c = loadConfig({ HOST: '0.0.0.0' });
    expect(c.SIMULATOR_HOST).toBe('127.0.0.1');
    expect(c.SIMULATOR_TOKEN).toBeUndefined();
    expect(c.SIMULATOR_WEBHOOK_ALLOW).toEqual([]);
    expect(() => requireSimulatorToken(c)).not.toThrow();
  });

  it.each(['0.0.0.0', '::', '192.0.2.2', 'simulator'])('on %s, without a token, refuses to start naming SIMULATOR_TOKEN', (host) => {
    expect(() => requireSimulatorToken(loadConfig({ SIMULATOR_HOST: host }))).toThrow(/^ *SIMULATOR_TOKEN: required when the simulator listens on/m);
    expect(() => requireSimulatorToken(loadConfig({ SIMULATOR_HOST: host, SIMULATOR_TOKEN: TOKEN }))).not.toThrow();
  });

  it('takes the token from SIMULATOR_TOKEN_FILE (the variable wins), at least 16 characters either way', () => {
    const file = join(tmp, 'simulator-token');
    writeFileSync(file, `${TOKEN}\n`);
    expect(loadConfig({ SIMULATOR_TOKEN_FILE: file }).SIMULATOR_TOKEN).toBe(TOKEN);
    expect(loadConfig({ SIMULATOR_TOKEN_FILE: file, SIMULATOR_TOKEN: 'another-token-0123456789' }).SIMULATOR_TOKEN).toBe('another-token-0123456789');
    expect(badVariables(configError({ SIMULATOR_TOKEN: 'short' }))).toEqual(['SIMULATOR_TOKEN']);
    const short = join(tmp, 'short-token');
    writeFileSync(short, 'abc\n');
    expect(badVariables(configError({ SIMULATOR_TOKEN_FILE: short, VONAGE_SIGNATURE_SECRET_FILE: join(tmp, 'absent') }))).toEqual([
      'SIMULATOR_TOKEN_FILE',
      'VONAGE_SIGNATURE_SECRET_FILE',
    ]);
  });

  it('SIMULATOR_WEBHOOK_ALLOW is a list of origins', () => {
    expect(loadConfig({ SIMULATOR_WEBHOOK_ALLOW: 'https://hooks.example.com/status, http://127.0.0.1:9999' }).SIMULATOR_WEBHOOK_ALLOW).toEqual([
      'https://hooks.example.com',
      'http://127.0.0.1:9999',
    ]);
    expect(badVariables(configError({ SIMULATOR_WEBHOOK_ALLOW: 'hooks.example.com' }))).toEqual(['SIMULATOR_WEBHOOK_ALLOW']);
    expect(badVariables(configError({ SIMULATOR_WEBHOOK_ALLOW: 'ftp://hooks.example.com' }))).toEqual(['SIMULATOR_WEBHOOK_ALLOW']);
  });

  it.each([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['localhost', true],
    ['app.localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['::ffff:10.0.0.5', false],
    ['128.0.0.1', false],
    ['127.0.0.1.attacker.example', false],
    ['localhost.attacker.example', false],
  ])('isLoopback(%s) is %s', (address, loopback) => {
    expect(isLoopback(address)).toBe(loopback);
  });
});

describe('REDIS_CLUSTER_NODES', () => {
  it('unset or blank, there is no cluster: the one Redis at REDIS_URL, exactly as before', () => {
    expect(loadConfig({}).REDIS_CLUSTER_NODES).toBeUndefined();
    expect(loadConfig({ REDIS_CLUSTER_NODES: '' })).toEqual(loadConfig({}));
    expect(loadConfig({ REDIS_CLUSTER_NODES: ' \t ' })).toEqual(loadConfig({}));
  });

  it('is a comma-separated list of host:port seeds: names, IPv4, [IPv6], blanks around items ignored', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:7000, 10.0.0.2:7001 ,[::1]:7002,redis-4.example.internal:6379' }).REDIS_CLUSTER_NODES).toEqual([
      { host: 'redis-1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
      { host: 'redis-4.example.internal', port: 6379 },
    ]);
    expect(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:30001' }).REDIS_CLUSTER_NODES).toEqual([{ host: '127.0.0.1', port: 30001 }]);
  });

  it.each([
    ['redis-1', /"redis-1" is not host:port/],
    ['redis-1:', /"redis-1:" is not host:port/],
    [':7000', /"" is not a host name or an IP address/],
    ['redis-1:7000,redis-2', /"redis-2" is not host:port/],
    ['redis-1:abc', /"redis-1:abc" is not host:port/],
    ['redis-1:0', /port 0 is not from 1 to 65535/],
    ['redis-1:65536', /port 65536 is not from 1 to 65535/],
    ['redis-1:7000,,redis-2:7000', /an empty item/],
    ['redis-1:7000,', /an empty item/],
    [',redis-1:7000', /an empty item/],
    [' , ', /an empty item/],
    ['redis_1:7000', /"redis_1" is not a host name/],
    ['999.0.0.1:7000', /"999.0.0.1" is not a host name/],
    ['[not-ipv6]:7000', /"not-ipv6" is not a host name/],
    ['::1:7000', /"::1:7000" is not host:port/],
    ['redis://redis-1:7000', /is not host:port/],
    ['redis-1:7000,redis-1:7000', /"redis-1:7000" is listed twice/],
  ])('%j is refused, naming the variable and what is wrong', (value, reason) => {
    const err = configError({ REDIS_CLUSTER_NODES: value });
    expect(badVariables(err)).toEqual(['REDIS_CLUSTER_NODES']);
    expect(err.message).toMatch(/^invalid configuration:/);
    expect(err.issues.join('\n')).toMatch(reason);
  });

  it('is reported together with other bad variables', () => {
    expect(badVariables(configError({ REDIS_CLUSTER_NODES: 'x', PORT: 'abc', REDIS_URL: 'nope' }))).toEqual(['PORT', 'REDIS_CLUSTER_NODES', 'REDIS_URL']);
  });

  it('takes its password and TLS from REDIS_URL, which on a cluster cannot name a database other than 0', () => {
    const c = loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:7000', REDIS_URL: 'rediss://app:pw@ignored.example:6380' });
    expect(c.REDIS_URL).toBe('rediss://app:pw@ignored.example:6380');
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:7000', REDIS_URL: 'redis://h:1/0' }).REDIS_CLUSTER_NODES).toHaveLength(1);
    const err = configError({ REDIS_CLUSTER_NODES: 'redis-1:7000', REDIS_URL: 'redis://h:1/2' });
    expect(badVariables(err)).toEqual(['REDIS_URL']);
    expect(err.issues.join('\n')).toMatch(/only database 0/);
    // Without a cluster, a database number is as welcome as before.
    expect(loadConfig({ REDIS_URL: 'redis://h:1/2' }).REDIS_URL).toBe('redis://h:1/2');
  });
});

describe('an app started with a bad REDIS_CLUSTER_NODES', () => {
  it('exits 78 naming it, like any other bad variable', async () => {
    const script = join(tmp, 'cluster-nodes.ts');
    const shared = join(ROOT, 'packages/shared/src/index.ts');
    writeFileSync(script, `import { loadConfigOrExit } from ${JSON.stringify(shared)};\nloadConfigOrExit();\nconsole.log('unreachable');\n`);
    const child = spawn(process.execPath, [script], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', REDIS_CLUSTER_NODES: 'redis-1:7000,redis-2:99999' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(78);
    expect(out).not.toContain('unreachable');
    expect(out).toMatch(/invalid configuration:\n {2}REDIS_CLUSTER_NODES: "redis-2:99999": port 99999 is not from 1 to 65535/);
  });
});
