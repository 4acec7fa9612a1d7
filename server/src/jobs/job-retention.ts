/**
 * Removes finished jobs from Redis. bee-queue keeps succeeded and failed jobs (their status and
 * result are what the job-status API reads) and its keys have no TTL, so without pruning they
 * would fill Redis for ever. A finished job is removed once it is older than
 * JOB_RETENTION_SUCCEEDED_HOURS / JOB_RETENTION_FAILED_HOURS (measured from its creation: bee-queue
 * records no finish time). Runs in the `maintenance` job.
 */
import type Queue from 'bee-queue';

/** Retention per final state, in ms. */
export interface RetentionPolicy {
  succeededMaxAgeMs: number;
  failedMaxAgeMs: number;
}

/** The node_redis (v3) command client bee-queue keeps on `client`. */
interface CommandClient {
  sscan(key: string, cursor: string, count: 'COUNT', n: number, cb: (err: Error | null, reply: [string, string[]]) => void): void;
  hmget(key: string, fields: string[], cb: (err: Error | null, reply: Array<string | null>) => void): void;
}

function call<T>(fn: (cb: (err: Error | null, reply: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, reply) => (err ? reject(err) : resolve(reply))));
}

/**
 * Prunes one queue's finished jobs.
 * @returns how many succeeded and failed jobs were removed.
 * @throws a Redis error when Redis is unreachable (the maintenance job is retried).
 */
export async function pruneFinishedJobs(
  queue: Queue,
  policy: RetentionPolicy,
  now: number = Date.now(),
  signal?: AbortSignal,
): Promise<{ succeeded: number; failed: number }> {
  const internals = queue as unknown as { client: CommandClient; toKey(name: string): string };
  const client = internals.client;
  const removed = { succeeded: 0, failed: 0 };
  for (const state of ['succeeded', 'failed'] as const) {
    const maxAge = state === 'succeeded' ? policy.succeededMaxAgeMs : policy.failedMaxAgeMs;
    const key = internals.toKey(state);
    const jobsKey = internals.toKey('jobs');
    let cursor = '0';
    do {
      signal?.throwIfAborted();
      const [next, ids] = await call<[string, string[]]>((cb) => client.sscan(key, cursor, 'COUNT', 500, cb));
      cursor = next;
      if (ids.length === 0) continue;
      const data = await call<Array<string | null>>((cb) => client.hmget(jobsKey, ids, cb));
      const old = ids.filter((_, i) => {
        const raw = data[i];
        if (raw === null || raw === undefined) return true; // no data left: a dangling id
        try {
          const created = Number((JSON.parse(raw) as { options?: { timestamp?: unknown } }).options?.timestamp);
          return !Number.isFinite(created) || now - created > maxAge;
        } catch {
          return true;
        }
      });
      for (const id of old) await queue.removeJob(id);
      removed[state] += old.length;
    } while (cursor !== '0');
  }
  return removed;
}
