import { aptInstall } from './engine.ts';
import { commandExists, runLoud, runOk, runQuiet, type Run } from './shell.ts';

/*
 * The Compose CLI: v2 (`docker compose`) where the docker CLI has it, else v1 (`docker-compose`,
 * Debian's 1.29; installed as root when missing). TICKERCAST_COMPOSE=v1|v2 picks one.
 * Only what both read is used: no `--wait`, no `ps --format`, container ids rather than names
 * (v1 names them project_service_1, v2 project-service-1).
 */

export interface Compose {
  /** `docker compose` or `docker-compose`, for messages. */
  name: string;
  version: string;
  quiet(...args: string[]): Run;
  ok(...args: string[]): string;
  loud(...args: string[]): Promise<void>;
}

/** The Compose CLI for `project` with `profiles` on (each a `--profile`: v1 and v2 both read them so). */
export function findCompose(project: string, env: NodeJS.ProcessEnv, profiles: string[]): Compose | string {
  const want = process.env.TICKERCAST_COMPOSE;
  const v2 = runQuiet('docker', ['compose', 'version', '--short'], env);
  let argv0: string[];
  if (want !== 'v1' && v2.status === 0) argv0 = ['docker', 'compose'];
  else if (want === 'v2') return 'TICKERCAST_COMPOSE=v2 but `docker compose` does not answer';
  else if (commandExists('docker-compose') || aptInstall('docker-compose')) argv0 = ['docker-compose'];
  else return 'neither `docker compose` nor `docker-compose` is installed';

  const [cmd, ...pre] = argv0 as [string, ...string[]];
  // v1's API timeout (60 s) is short for a slow disk stopping and removing the stack's containers; v2 ignores it.
  env = { COMPOSE_HTTP_TIMEOUT: '600', ...env };
  const base = [...pre, '--project-name', project, ...profiles.flatMap((p) => ['--profile', p])];
  const version = runOk(cmd, [...pre, 'version', '--short'], env).trim();
  return {
    name: argv0.join(' '),
    version,
    quiet: (...args) => runQuiet(cmd, [...base, ...args], env),
    ok: (...args) => runOk(cmd, [...base, ...args], env),
    loud: (...args) => runLoud(cmd, [...base, ...args], env),
  };
}
