/**
 * Waiting for something that answers over HTTP: one retry loop for install's smoke request through
 * nginx, upgrade's smoke request, and the edge's TLS check.
 */
import { UnhealthyError } from '../errors.js';

/** One attempt's verdict: done with a value, or not yet, with what was seen (for the timeout message). */
export type PollAttempt<T> = { done: true; value: T } | { done: false; last: string };

/**
 * Run `attempt` every `intervalMs` until it reports done or `timeoutMs` has passed. The attempt
 * decides what is worth retrying: it returns `{ done: false }` for that and throws what is fatal.
 * @param opts.timeoutMs give up after this long, ms; `intervalMs` pause between attempts, ms.
 * @returns the value of the first attempt that is done.
 * @throws whatever `attempt` throws; `onTimeout(last)` when time runs out (`last` = the last attempt's note).
 */
export async function pollUntil<T>(
  attempt: () => Promise<PollAttempt<T>>,
  opts: { timeoutMs: number; intervalMs: number; onTimeout: (last: string) => Error },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = '(no attempt finished)';
  for (;;) {
    const r = await attempt();
    if (r.done) return r.value;
    last = r.last;
    if (Date.now() + opts.intervalMs > deadline) throw opts.onTimeout(last);
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs));
  }
}

/**
 * GET `url` until it answers 200 (each request bounded by `requestTimeoutMs`), retrying refused
 * connections, timeouts and other statuses.
 * @param opts.timeoutMs overall wait, ms (default 30 000); `intervalMs` between requests (default 1 000).
 * @param opts.what how the failure names the request (default `url`); `hint` the next step for the admin.
 * @returns the body of the 200 response.
 * @throws UnhealthyError (exit 4) with the last status and body (200 characters) or network error.
 */
export async function waitForHttp200(
  url: string,
  opts: { timeoutMs?: number; intervalMs?: number; requestTimeoutMs?: number; what?: string; hint: string },
): Promise<string> {
  return pollUntil<string>(
    async () => {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(opts.requestTimeoutMs ?? 5000) });
        const body = await r.text();
        return r.status === 200 ? { done: true, value: body } : { done: false, last: `${r.status} ${body.slice(0, 200)}` };
      } catch (err) {
        return { done: false, last: (err as Error).message };
      }
    },
    {
      timeoutMs: opts.timeoutMs ?? 30_000,
      intervalMs: opts.intervalMs ?? 1000,
      onTimeout: (last) => new UnhealthyError(`${opts.what ?? url} did not answer 200: ${last}`, opts.hint),
    },
  );
}
