/**
 * Child processes of the benchmark: each one is tracked from the moment it is spawned, and
 * `stopAll()` (also run on exit, Ctrl-C and SIGTERM) stops every one still running — SIGTERM
 * first, SIGKILL after a timeout — so a failed run leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../scripts/lib/free-port.ts';

export { freePort };

export const repoRoot = join(import.meta.dirname, '..', '..');

export interface Proc {
  name: string;
  child: ChildProcess;
  /** The last 64 KB of stdout and stderr, for error reports and readiness lines. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Proc>();
const TAIL = 64 * 1024;

export function launch(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: string) => {
    out += d;
    if (out.length > TAIL * 2) out = out.slice(-TAIL);
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => {
      keep(`\n[spawn error] ${err.message}\n`);
      resolve({ code: null, signal: null });
    });
  });
  const proc: Proc = {
    name,
    child,
    output: () => out.slice(-TAIL),
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
        if ((await Promise.race([exited, timer])) === 'timeout') {
          child.kill('SIGKILL');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
        }
      }
      running.delete(proc);
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** A TypeScript entry point of this repository on this Node, with `env` on top of a minimal environment. */
export function launchScript(name: string, script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Proc {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };
  return launch(name, process.execPath, [...nodeArgs, join(repoRoot, script)], { ...base, ...env });
}

/** Stops every process still running, all at once: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopAll(graceMs = 10_000): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(graceMs)));
}

/** The last resort when the bench itself is ending: no grace. */
function killAllNow(): void {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping every process the bench started…`);
    void stopAll(5000).finally(() => process.exit(130));
  });
}


export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns something truthy; throws after `timeoutMs`, naming `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs: number, everyMs = 50, proc?: Proc): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve()
      .then(check)
      .catch(() => undefined);
    if (v) return v as NonNullable<T>;
    if (proc && proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}) while waiting for ${what}:\n${proc.output().slice(-3000)}`);
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}
