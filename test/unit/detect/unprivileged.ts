import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** True when this test process can spawn children as another user (it runs as root). */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** uid/gid of `nobody`, the unprivileged user detection is run as. */
export const NOBODY = 65534;

/**
 * Runs scripts/detect-as-user.ts as uid/gid 65534 with `req` and returns its parsed JSON output.
 * Only meaningful as root; the repo and node_modules must be world-readable.
 */
export function detectAsNobody<T>(req: unknown): Promise<T> {
  const script = fileURLToPath(new URL('./scripts/detect-as-user.ts', import.meta.url));
  const repo = fileURLToPath(new URL('../../../', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, JSON.stringify(req)],
      { cwd: repo, uid: NOBODY, gid: NOBODY, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp' }, timeout: 30000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`detect-as-user failed: ${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout) as T);
      },
    );
  });
}

/** Skips the running test and puts the reason in its title, since mocha's skip() takes no message. */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  if (ctx.test) ctx.test.title += ` (skipped: ${reason})`;
  ctx.skip();
}
