/**
 * The worker's heartbeat file: the worker touches it while it can reach Redis; the container
 * healthcheck reads its age. A file, because the worker serves no HTTP.
 */
import { stat, utimes, writeFile } from 'node:fs/promises';

/** The worker touches its heartbeat file this often while Redis answers, in ms. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** The healthcheck fails when the heartbeat file is older than this, in ms. */
export const HEARTBEAT_MAX_AGE_MS = 30_000;

/** Sets the file's modification time to now, creating it if needed. */
export async function touchHeartbeat(path: string): Promise<void> {
  const now = new Date();
  try {
    await utimes(path, now, now);
  } catch {
    await writeFile(path, `${process.pid}\n`);
  }
}

/**
 * Age of the heartbeat, in ms.
 * @throws the fs error when the file does not exist (the worker never reached Redis, or stopped).
 */
export async function heartbeatAgeMs(path: string, now: number = Date.now()): Promise<number> {
  const { mtimeMs } = await stat(path);
  return now - mtimeMs;
}
