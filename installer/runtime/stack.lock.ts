/**
 * The install root's operation lock: one file (O_EXCL) that serializes every operation changing a
 * stack (install on an existing root, restart, scale, re-tier, backup, restore, upgrade, load test).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { constants, existsSync, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { OperationError } from '../errors.js';

/** The lock file that serializes operations that change a stack (one per install root). */
export const LOCK_FILE = '.carebox.lock';

interface LockInfo {
  pid: number;
  host: string;
  op: string;
  startedAt: string;
}

/**
 * This process as the host sees it. In the release's CLI container (cli/carebox.sh) the CLI is pid 1
 * of its own pid namespace, like every other CLI container, so the lock names the launcher's host
 * pid (CAREBOX_HOST_PID), alive exactly while the container runs, and liveness is read from the
 * host's /proc mounted under CAREBOX_HOST_ROOT. Pure in `env`.
 */
export function lockIdentity(env: NodeJS.ProcessEnv = process.env): { pid: number; alive: (pid: number) => boolean } {
  const hostRoot = env.CAREBOX_HOST_ROOT?.trim();
  const hostPid = Number(env.CAREBOX_HOST_PID);
  if (hostRoot && Number.isInteger(hostPid) && hostPid > 0) return { pid: hostPid, alive: (pid) => existsSync(join(hostRoot, 'proc', String(pid))) };
  return {
    pid: process.pid,
    alive: (pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
  };
}

/** The install roots whose lock the current async call chain holds (Node's AsyncLocalStorage). */
const held = new AsyncLocalStorage<ReadonlySet<string>>();
/** Lock files this process holds now, in any call chain. */
const heldByProcess = new Set<string>();

/**
 * Whether the current call chain holds `root`'s operation lock (taken by an outer
 * {@link withStackLock}).
 */
export function holdsStackLock(root: string): boolean {
  return held.getStore()?.has(join(root, LOCK_FILE)) ?? false;
}

/**
 * Run `fn` holding the install root's operation lock, so a scale from the dashboard and a retier
 * from a script never change the stack at once. A lock left by a dead process (same host) is
 * taken over.
 *
 * The lock is taken once, by the outermost operation of a call chain: an operation that runs
 * another one (upgrade → backup → restore, the scheduler → backup → retention) runs it under the
 * lock it holds, tracked per async call chain (AsyncLocalStorage), so no caller passes "do not
 * lock" flags and a concurrent chain in the same process (the console's dashboard) still waits
 * its turn like another process does.
 * @throws OperationError when another live operation holds the lock (it names the op and pid).
 */
export async function withStackLock<T>(root: string, op: string, fn: () => Promise<T>): Promise<T> {
  const path = join(root, LOCK_FILE);
  const mine = held.getStore();
  if (mine?.has(path)) return fn();
  const self = lockIdentity();
  const me: LockInfo = { pid: self.pid, host: hostname(), op, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      await fh.writeFile(JSON.stringify(me));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
      let holder: LockInfo | null = null;
      try {
        holder = JSON.parse(await fs.readFile(path, 'utf8')) as LockInfo;
      } catch {
        holder = null;
      }
      // Stale: its process is gone, or it names this very process, which holds no such lock (an
      // earlier life of the same pid: the scheduler is pid 1 of its container after a restart).
      const earlierLife = holder !== null && holder.pid === self.pid && !heldByProcess.has(path);
      if (holder && holder.host === me.host && (earlierLife || !self.alive(holder.pid))) {
        await fs.rm(path, { force: true });
        continue;
      }
      if (!holder) {
        // Being written right now, or garbage: give the writer a moment, then treat it as stale.
        await new Promise((r) => setTimeout(r, 200));
        if (attempt === 2) await fs.rm(path, { force: true });
        continue;
      }
      throw new OperationError(
        `another Carebox operation is changing this stack: ${holder.op} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})`,
        `wait for it to finish and retry; if no carebox process is running, delete ${path}`,
      );
    }
  }
  heldByProcess.add(path);
  try {
    return await held.run(new Set([...(mine ?? []), path]), fn);
  } finally {
    heldByProcess.delete(path);
    await fs.rm(path, { force: true });
  }
}
