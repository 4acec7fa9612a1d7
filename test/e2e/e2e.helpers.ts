import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { connectDocker } from '../../installer/runtime/docker.connect.js';

export const REPO = process.cwd();
export const CLI = join(REPO, 'dist/console/cli.js');
export const STANDINS = join(REPO, 'test/images/images.standin.json');

/** Result of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

/**
 * Run a command (no TTY: stdin is /dev/null), bounded in time (SIGKILL after `timeoutMs`, default
 * 600 s); stdout and stderr collected, stdout parsed as JSON when it is.
 */
export function runCommand(
  argv: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; onStderr?: (soFar: string, child: ChildProcess) => void } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr, child);
    });
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      let json: any = null;
      try {
        json = JSON.parse(stdout);
      } catch {
        /* not JSON */
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
  });
}

/** Run the built `carebox` CLI (no TTY: stdin is /dev/null), parse stdout as JSON when it is. */
export function carebox(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onStderr?: (soFar: string, child: ChildProcess) => void } = {},
): Promise<CliRun> {
  // Installs made by e2e files run without Prometheus and Alertmanager (CAREBOX_ALERTS=off, the
  // `--alerts` default) unless a file asks otherwise: six more containers per stack would slow every
  // file, and alerts have their own e2e file (alerts.e2e.test.ts). Set CAREBOX_ALERTS to override.
  // Scheduled backups stay on (the default), at a time 12 h from now (CAREBOX_BACKUP_AT, the
  // `--backup-at` default), so no scheduled run competes with a test for the stack's lock.
  return runCommand([process.execPath, CLI, ...args], {
    env: { CAREBOX_ALERTS: 'off', CAREBOX_BACKUP_AT: FAR_BACKUP_AT, ...process.env, ...opts.env },
    timeoutMs: opts.timeoutMs,
    onStderr: opts.onStderr,
  });
}

/** The daily backup time of every e2e install (one per test process, so re-runs keep it). */
const FAR_BACKUP_AT = farBackupTime();

/** HH:MM (UTC) twelve hours from now: a daily backup time no test run reaches. */
export function farBackupTime(now = new Date()): string {
  const t = new Date(now.getTime() + 12 * 3600_000);
  return `${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}`;
}

/** Fail with how to fix it when the e2e prerequisites are missing. */
export async function requireE2ePrereqs(): Promise<Docker> {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` (test/run-all.sh does)');
  if (!existsSync(STANDINS)) throw new Error('stand-in images missing: run `bash test/images/build-standins.sh` (test/run-all.sh does)');
  return (await connectDocker()).docker;
}

export { freePort, get } from '../net.helpers.js';

/** Containers, networks and volumes carrying a Compose project label. */
export async function projectResources(docker: Docker, project: string) {
  const label = `com.docker.compose.project=${project}`;
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  const networks = await docker.listNetworks({ filters: { label: [label] } });
  const volumes = (await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? [];
  return { containers, networks, volumes };
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
