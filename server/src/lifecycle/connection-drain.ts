/**
 * Drains an HTTP server behind nginx's upstream keep-alive without failing a request.
 *
 * nginx caches idle connections to each backend and writes the next request on one without
 * asking first. A request written on a connection that the backend is closing at that moment
 * fails, and nginx does not retry a POST it has sent (`proxy_next_upstream`: non-idempotent
 * requests are not passed on once sent), so the client gets a 502. Node's own `server.close()`
 * also calls `closeIdleConnections()` (and counts a connection whose request has not been parsed
 * yet as idle). This drain therefore never closes a connection nginx may still reuse:
 *   1. it stops listening (the listener only, no connection is touched): a new connection is
 *      refused before anything is sent, which nginx retries on the next replica, POST included,
 *      and it marks this replica failed for `fail_timeout`;
 *   2. every response from now on carries `Connection: close`: nginx caches no connection to this
 *      replica again, and a request nginx still writes on a cached one is answered in full before
 *      that connection closes;
 *   3. a connection with no request in progress is closed by nginx itself (its upstream
 *      `keepalive_timeout` runs out, or it is used once more as in 2.); only after `idleCloseMs`
 *      (longer than that timeout) does the drain close what is left, which by then nginx no
 *      longer holds;
 *   4. every request in progress finishes;
 *   5. it resolves once every connection has closed, or reports a timeout (the caller then closes
 *      whatever is left).
 */
import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

/**
 * Default of {@link DrainOptions.idleCloseMs}, in ms: nginx's upstream keepalive_timeout as
 * Carebox renders it (4 s) plus 2 s for nginx's timer and event loop on a loaded host.
 */
export const DEFAULT_IDLE_CLOSE_MS = 6_000;
const SWEEP_MS = 50;

/** How the drain treats connections without a request in progress. */
export interface DrainOptions {
  /**
   * A connection without a request in progress is closed by the drain only this long after
   * draining began, in ms. Must exceed the proxy's idle timeout for its cached upstream
   * connections (nginx `keepalive_timeout` in `upstream`), so the proxy has dropped the
   * connection before the backend closes it.
   */
  idleCloseMs: number;
}

interface ConnectionState {
  /** Responses on this connection that have not finished. */
  responses: Set<ServerResponse>;
}

/** Tracks the connections of one HTTP server from its start, so it can drain them. */
export class ConnectionDrain {
  private readonly connections = new Map<Socket, ConnectionState>();
  private draining = false;
  private readonly idleCloseMs: number;

  constructor(
    private readonly server: Server,
    options: Partial<DrainOptions> = {},
  ) {
    this.idleCloseMs = options.idleCloseMs ?? DEFAULT_IDLE_CLOSE_MS;
    server.on('connection', (socket: Socket) => {
      this.connections.set(socket, { responses: new Set() });
      socket.once('close', () => this.connections.delete(socket));
    });
    // Before the app's own handler, so even a response written synchronously (the liveness fast
    // path) goes out with `Connection: close` once draining began.
    server.prependListener('request', (req, res) => {
      if (this.draining && !res.headersSent) res.setHeader('Connection', 'close');
      const state = this.connections.get(req.socket);
      if (state === undefined) return;
      state.responses.add(res);
      res.once('close', () => state.responses.delete(res));
    });
  }

  /** Open connections right now (tests, logs). */
  get size(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting and waits for the open connections as described above.
   * @param timeoutMs most time to wait, in ms (requests still running then are the caller's).
   * @returns true when every connection closed in time.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    // Requests already in progress answer with `Connection: close` too, unless their headers are out.
    for (const state of this.connections.values()) for (const res of state.responses) if (!res.headersSent) res.setHeader('Connection', 'close');
    // The listener only: net.Server's close, not http.Server's (which would close "idle" sockets).
    const listenerClosed = new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve()));
    const started = Date.now();
    const sweep = (): void => {
      if (Date.now() - started < this.idleCloseMs) return;
      for (const [socket, state] of this.connections) if (state.responses.size === 0) socket.destroy();
    };
    const done = await new Promise<boolean>((resolve) => {
      const timer = setInterval(() => {
        sweep();
        if (this.connections.size === 0) {
          clearInterval(timer);
          resolve(true);
        } else if (Date.now() - started >= timeoutMs) {
          clearInterval(timer);
          resolve(false);
        }
      }, SWEEP_MS);
    });
    if (done) await listenerClosed;
    return done;
  }

  /** Destroys every remaining connection (after a drain timeout). */
  destroyAll(): void {
    for (const socket of this.connections.keys()) socket.destroy();
  }

  /** True once {@link drain} has begun. */
  get isDraining(): boolean {
    return this.draining;
  }
}
