/**
 * Where the cores go: CPU seconds (user + system) each process spent over a stretch of a
 * scenario, read from /proc (Linux; elsewhere the figures are simply missing).
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ, 100 on every Linux architecture the bench targets

/** utime + stime of a process; with `children`, plus those of its children that exited (cutime + cstime). */
function cpuSeconds(pid: number | 'self', children = false): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ": utime, stime, cutime, cstime are the 12th to 15th of those.
    const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ').map(Number);
    return (f[11]! + f[12]! + (children ? f[13]! + f[14]! : 0)) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/** CPU seconds the whole machine spent busy (every process, kernel included), from /proc/stat. */
function machineBusySeconds(): number | undefined {
  try {
    const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

export interface CpuWatch {
  /**
   * CPU seconds per process name since start, the wall-clock seconds, and what the rest of the
   * machine used meanwhile (others_s: other people's work on a shared machine).
   */
  stop(): { wall_s: number; cpu_s: Record<string, number>; others_s?: number };
}

/** Starts counting for these processes (name -> pid); the bench process itself is `bench`. */
export function watchCpu(procs: Record<string, number | undefined>): CpuWatch {
  const started = performance.now();
  const own = process.cpuUsage();
  const machineBefore = machineBusySeconds();
  const before = Object.fromEntries(Object.entries(procs).map(([name, pid]) => [name, pid === undefined ? undefined : cpuSeconds(pid)]));
  return {
    stop() {
      const cpu_s: Record<string, number> = {};
      for (const [name, pid] of Object.entries(procs)) {
        const a = before[name];
        const b = pid === undefined ? undefined : cpuSeconds(pid);
        if (a !== undefined && b !== undefined) cpu_s[name] = Math.round((b - a) * 100) / 100;
      }
      const u = process.cpuUsage(own);
      cpu_s.bench = Math.round((u.user + u.system) / 1e4) / 100;
      const machineAfter = machineBusySeconds();
      const ours = Object.values(cpu_s).reduce((a, b) => a + b, 0);
      const others = machineBefore === undefined || machineAfter === undefined ? undefined : Math.max(0, Math.round((machineAfter - machineBefore - ours) * 100) / 100);
      return { wall_s: Math.round((performance.now() - started) / 10) / 100, cpu_s, ...(others === undefined ? {} : { others_s: others }) };
    },
  };
}

/**
 * For a whole scenario, whose processes come and go: CPU seconds of the bench's own process tree
 * (itself, the children it has reaped, and `live` children still running), and of everything
 * else on the machine meanwhile. On a shared machine, others_s says how much the figures were
 * disturbed (others_s / wall_s is the share of a core other work took on average).
 */
export function watchMachine(live: () => (number | undefined)[]) {
  const ours = () => (cpuSeconds('self', true) ?? 0) + live().reduce<number>((sum, pid) => sum + (pid === undefined ? 0 : (cpuSeconds(pid) ?? 0)), 0);
  const started = performance.now();
  const ours0 = ours();
  const machine0 = machineBusySeconds();
  return {
    stop(): { wall_s: number; ours_s: number; others_s: number | undefined } {
      const wall = (performance.now() - started) / 1000;
      const oursDelta = ours() - ours0;
      const machine1 = machineBusySeconds();
      const r2 = (v: number) => Math.round(v * 100) / 100;
      return {
        wall_s: r2(wall),
        ours_s: r2(oursDelta),
        others_s: machine0 === undefined || machine1 === undefined ? undefined : r2(Math.max(0, machine1 - machine0 - oursDelta)),
      };
    },
  };
}

/**
 * On a shared machine: waits (at most `maxWaitMs`) until the whole machine was less than
 * `threshold` cores busy over one second, between scenarios, when nothing of the bench's own runs.
 * Returns the busy share last seen.
 */
export async function waitForQuiet(threshold: number, maxWaitMs: number): Promise<number> {
  const until = Date.now() + maxWaitMs;
  for (;;) {
    const a = machineBusySeconds();
    await new Promise((r) => setTimeout(r, 1000));
    const b = machineBusySeconds();
    if (a === undefined || b === undefined) return NaN;
    const busy = b - a;
    if (busy < threshold || Date.now() >= until) return Math.round(busy * 100) / 100;
  }
}
