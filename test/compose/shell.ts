import { spawn, spawnSync } from 'node:child_process';

/** What the compose test prints: one line per step, to stdout. */
export function log(line: string): void {
  process.stdout.write(`compose-test: ${line}\n`);
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A command run to its end, its output kept (nothing is thrown: the caller reads `status`). */
export function runQuiet(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.error ? null : r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** A command whose output goes to this terminal; rejects when it fails. */
export function runLoud(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: env ?? process.env });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exited ${signal ?? code}`)),
    );
  });
}

/** Like runQuiet, but a failure is an error carrying the command's stderr. */
export function runOk(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = runQuiet(cmd, args, env);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exited ${r.status}\n${r.stderr.trim()}`);
  return r.stdout;
}

export function commandExists(cmd: string): boolean {
  return runQuiet('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value (not undefined) or `timeoutMs` passes; the error names what was awaited. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${why}`);
    }
    await sleep(everyMs);
  }
}
