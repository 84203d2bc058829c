import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandExists, log, runQuiet, sleep } from './shell.ts';

/*
 * A Docker engine for the compose test: the one that answers already (DOCKER_HOST, or the default
 * socket), else a dockerd of our own — on a private socket and exec-root in a temporary folder, its
 * data-root in a cache folder that the next run reuses (base images and build cache survive),
 * stopped by `stop()`. Storage: overlay2 where the kernel has overlayfs, else vfs, which needs
 * nothing but copies a container's whole filesystem for every build step, container start and
 * removal (measured here: a cold run of the test was over 25 minutes with vfs, and compose v1's
 * 60 s API timeout tripped while vfs deleted the containers' copies).
 */

export interface Engine {
  /** The environment for docker and compose commands (DOCKER_HOST set when the engine is ours). */
  env: NodeJS.ProcessEnv;
  /** 'existing' engines are left running; 'started' ones are stopped by stop(). */
  kind: 'existing' | 'started';
  version: string;
  /** The storage driver of a started engine ('' for an existing one). */
  storage: string;
  stop(): Promise<void>;
}

/** Where a started engine keeps its images between runs: TICKERCAST_DOCKER_DATA, else ~/.cache/tickercast/docker. */
export function dataRoot(): string {
  if (process.env.TICKERCAST_DOCKER_DATA) return process.env.TICKERCAST_DOCKER_DATA;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tickercast', 'docker');
}

function serverVersion(env: NodeJS.ProcessEnv): string | undefined {
  const r = runQuiet('docker', ['version', '--format', '{{.Server.Version}}'], env);
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const isRoot = () => process.getuid?.() === 0;

/** Debian's packages, installed as root when a command is missing. */
export function aptInstall(...packages: string[]): boolean {
  if (!isRoot() || !commandExists('apt-get')) return false;
  log(`installing ${packages.join(' ')} with apt`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  runQuiet('apt-get', ['update', '-qq'], env);
  const r = runQuiet('apt-get', ['install', '-y', '-qq', ...packages], env);
  if (r.status !== 0) log(`apt-get install ${packages.join(' ')} failed:\n${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
  return r.status === 0;
}

/** TICKERCAST_DOCKER_STORAGE when set; else overlay2 when the kernel has overlayfs, then vfs. */
function storageDrivers(): string[] {
  if (process.env.TICKERCAST_DOCKER_STORAGE) return [process.env.TICKERCAST_DOCKER_STORAGE];
  const overlay = readFileSync('/proc/filesystems', 'utf8').split('\n').some((l) => l.split('\t').pop() === 'overlay');
  return overlay ? ['overlay2', 'vfs'] : ['vfs'];
}

/** The engine to use, or the reason there is none. */
export async function ensureEngine(): Promise<Engine | string> {
  const existing = serverVersion(process.env);
  if (existing) {
    return { env: { ...process.env }, kind: 'existing', version: existing, storage: '', stop: async () => {} };
  }
  if (!isRoot()) return 'no Docker engine answers, and only root may start one here';
  if (!commandExists('dockerd') && !aptInstall('docker.io')) return 'no Docker engine answers and dockerd (Debian docker.io) could not be installed';
  const reasons: string[] = [];
  for (const driver of storageDrivers()) {
    const started = await startEngine(driver);
    if (typeof started !== 'string') return started;
    reasons.push(`with ${driver}: ${started}`);
  }
  return reasons.join('\n');
}

async function startEngine(driver: string): Promise<Engine | string> {
  // dockerd makes the default bridge and leaves it behind when it stops: ours goes with it.
  const hadBridge = runQuiet('ip', ['link', 'show', 'docker0']).status === 0;
  const tmp = mkdtempSync(join(tmpdir(), 'tcx-dockerd-'));
  const data = dataRoot();
  mkdirSync(data, { recursive: true });
  const sock = join(tmp, 'docker.sock');
  const out = openSync(join(tmp, 'dockerd.log'), 'a');
  const args = [
    '--host', `unix://${sock}`,
    '--data-root', data,
    '--exec-root', join(tmp, 'exec'),
    '--pidfile', join(tmp, 'dockerd.pid'),
    '--storage-driver', driver,
  ];
  log(`starting dockerd ${args.join(' ')}`);
  const child = spawn('dockerd', args, { stdio: ['ignore', out, out] });
  let exited = false;
  child.on('exit', () => (exited = true));
  child.on('error', () => (exited = true));
  const env = { ...process.env, DOCKER_HOST: `unix://${sock}` };

  const stop = async () => {
    if (!exited && child.pid) {
      log('stopping the dockerd this test started');
      child.kill('SIGTERM');
      for (let i = 0; i < 60 && !exited; i++) await sleep(500);
      if (!exited) child.kill('SIGKILL');
      for (let i = 0; i < 10 && !exited; i++) await sleep(500);
    }
    // Whatever the engine left mounted under its exec-root (network namespaces, …) goes with it.
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(tmp))
      .reverse();
    for (const m of mounts) runQuiet('umount', ['-l', m]);
    rmSync(tmp, { recursive: true, force: true });
    if (!hadBridge && exited) runQuiet('ip', ['link', 'delete', 'docker0']);
  };

  for (let i = 0; i < 120; i++) {
    const version = serverVersion(env);
    if (version) return { env, kind: 'started', version, storage: driver, stop };
    if (exited) break;
    await sleep(500);
  }
  const tail = readFileSync(join(tmp, 'dockerd.log'), 'utf8').trim().split('\n').slice(-10).join('\n');
  await stop();
  return `dockerd did not start:\n${tail}`;
}
