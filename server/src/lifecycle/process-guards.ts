/**
 * Last-resort handlers: an exception nobody caught leaves the process in an unknown state, so it
 * is logged and the process exits 1 (the cluster primary or the container restart policy brings a
 * fresh one).
 */
import type { Logger } from 'pino';

/** Installs `uncaughtException` and `unhandledRejection` handlers that log and exit 1. */
export function installFatalHandlers(logger: Logger<string>): void {
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection; exiting');
    process.exit(1);
  });
}

/**
 * Calls `handler` once on the first SIGTERM or SIGINT; later signals are logged and ignored (the
 * shutdown already running is bounded by its own timeout).
 */
export function onTerminationSignal(logger: Logger<string>, handler: (signal: NodeJS.Signals) => void): void {
  let received: NodeJS.Signals | null = null;
  const listener = (signal: NodeJS.Signals): void => {
    if (received !== null) {
      logger.info({ signal }, 'already shutting down');
      return;
    }
    received = signal;
    handler(signal);
  };
  process.on('SIGTERM', listener);
  process.on('SIGINT', listener);
}
