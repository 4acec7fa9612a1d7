/**
 * Drains an HTTP server without dropping requests that have already reached it.
 *
 * Node's own `server.close()` also calls `closeIdleConnections()`, and to Node a connection that
 * has been accepted but whose request has not been parsed yet is "idle": under load, closing the
 * server that way resets requests the client has already sent. This drain instead:
 *   1. stops listening (the listener only, no connection is touched): nginx's new connections are
 *      refused, so it marks this replica failed and moves requests to the next one;
 *   2. keeps keep-alive connections that sit idle between requests open for
 *      IDLE_KEEPALIVE_GRACE_MS, answering any request that still arrives on one with
 *      `Connection: close`, and only then closes the idle rest. Closing them at once raced nginx:
 *      a request nginx writes on a cached upstream connection just as Node closes it fails, and
 *      nginx does not retry a POST it has sent (a 502 under load in a scale-down);
 *   3. serves connections that have not delivered their first request yet, and every request in
 *      progress, each answered with `Connection: close`, so their sockets close;
 *   4. destroys a connection that sent nothing for FRESH_CONNECTION_GRACE_MS;
 *   5. resolves once every connection has closed, or reports a timeout (the caller then closes
 *      whatever is left).
 */
import type { Server } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

/** A connection that has sent no request this long after draining began is closed, in ms. */
export const FRESH_CONNECTION_GRACE_MS = 2_000;
/**
 * An idle keep-alive connection is closed this long after draining began, in ms: long enough for
 * nginx to stop choosing this replica (a refused connect marks it failed, max_fails=1), short
 * against the drain budget (SHUTDOWN_TIMEOUT_MS).
 */
export const IDLE_KEEPALIVE_GRACE_MS = 1_000;
const SWEEP_MS = 50;

interface ConnectionState {
  /** Requests on this connection whose response has not finished. */
  active: number;
  /** Requests answered on this connection. */
  served: number;
}

/** Tracks the connections of one HTTP server from its start, so it can drain them. */
export class ConnectionDrain {
  private readonly connections = new Map<Socket, ConnectionState>();
  private draining = false;

  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      this.connections.set(socket, { active: 0, served: 0 });
      socket.once('close', () => this.connections.delete(socket));
    });
    // Before the app's own handler, so even a response written synchronously (the liveness fast
    // path) goes out with `Connection: close` once draining began.
    server.prependListener('request', (req, res) => {
      if (this.draining && !res.headersSent) res.setHeader('Connection', 'close');
      const state = this.connections.get(req.socket);
      if (state === undefined) return;
      state.active += 1;
      res.once('close', () => {
        state.active -= 1;
        state.served += 1;
      });
    });
  }

  /** Open connections right now (tests). */
  get size(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting and waits for the open connections as described above.
   * @param timeoutMs most time to wait, in ms.
   * @returns true when every connection closed in time.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    // The listener only: net.Server's close, not http.Server's (which would close "idle" sockets).
    const listenerClosed = new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve()));
    const started = Date.now();
    const sweep = (): void => {
      for (const [socket, state] of this.connections) {
        if (state.active > 0) continue;
        const elapsed = Date.now() - started;
        const idleKeepAlive = state.served > 0 && elapsed >= IDLE_KEEPALIVE_GRACE_MS;
        const silentTooLong = state.served === 0 && elapsed >= FRESH_CONNECTION_GRACE_MS;
        if (idleKeepAlive || silentTooLong) socket.destroy();
      }
    };
    sweep();
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
