import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that nothing listens on (at the moment of the call). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** GET `url` (10 s timeout); returns the status, the body parsed as JSON (or the text) and the headers. */
export async function get(url: string): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: r.status, body, headers: r.headers };
}
