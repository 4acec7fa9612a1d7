/**
 * Rate limit on sign-in: LOGIN_RATE_LIMIT_MAX attempts per client address per
 * LOGIN_RATE_LIMIT_WINDOW_SECONDS, counted in Redis (rate-limit-redis) so that every replica and
 * every cluster worker shares one budget. Over the limit: 429 TOO_MANY_LOGIN_ATTEMPTS with
 * Retry-After. Redis down: 503 SESSION_STORE_UNAVAILABLE (a sign-in could not create a session
 * anyway), never a silently unlimited endpoint.
 *
 * One exception, for `carebox loadtest`: a *successful* sign-in of a synthetic account (created
 * by `demo-data.js --users`, with a random password only the load test knows, and removed after
 * it) gives its slot back once answered. Every attempt still counts while it runs, so at most
 * LOGIN_RATE_LIMIT_MAX sign-ins run at once from one address; every failed attempt, and every
 * attempt on a real account, counts exactly as before. The load test's virtual users all come
 * from one address, and without this 1,000 of them would need 100 minutes to sign in at the
 * default 10 per minute; raising the limit instead would loosen it for everybody.
 */
import type { RequestHandler, Response } from 'express';
import { rateLimit, type Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { TooManyRequestsError } from '../http/http-error.js';
import { SessionStoreUnavailableError } from './session.store.js';

/**
 * rate-limit-redis loads its Lua scripts once and keeps the promise: if Redis was down at that
 * moment, the rejected promise would fail every later call even after Redis is back. This store
 * loads them again whenever the last load failed. (NOSCRIPT after a Redis restart the library
 * already handles.)
 */
class ReconnectingRedisStore extends RedisStore {
  override async increment(key: string) {
    const self = this as unknown as { incrementScriptSha: Promise<string>; loadIncrementScript(): Promise<string> };
    self.incrementScriptSha = self.incrementScriptSha.catch(() => self.loadIncrementScript());
    return super.increment(key);
  }

  override async get(key: string) {
    const self = this as unknown as { getScriptSha: Promise<string>; loadGetScript(): Promise<string> };
    self.getScriptSha = self.getScriptSha.catch(() => self.loadGetScript());
    return super.get(key);
  }
}

const SYNTHETIC_SIGN_IN = Symbol('carebox.syntheticSignIn');

/** Marks a response as the successful sign-in of a synthetic load-test account (auth controller only). */
export function markSyntheticSignIn(res: Response): void {
  (res.locals as Record<symbol, unknown>)[SYNTHETIC_SIGN_IN] = true;
}

/** True when `res` answered a synthetic account's successful sign-in. */
export function isSyntheticSignIn(res: Response): boolean {
  return res.statusCode < 400 && (res.locals as Record<symbol, unknown>)[SYNTHETIC_SIGN_IN] === true;
}

/** Options of {@link loginRateLimit}. */
export interface LoginRateLimitOptions {
  redis: Redis;
  /** Key prefix (QUEUE_NAME_PREFIX). */
  prefix: string;
  max: number;
  windowSeconds: number;
  logger: Logger<string>;
}

/**
 * A rate-limit-redis store on `redis` under `<prefix>:rl:<name>:`, shared by every replica and
 * cluster worker. While Redis is not ready every call fails at once with
 * SessionStoreUnavailableError (503) instead of queueing behind the reconnect. The Lua scripts
 * are loaded again after a failed load (see ReconnectingRedisStore).
 * @param windowMs the counting window, ms.
 */
export function redisRateLimitStore(redis: Redis, prefix: string, name: string, windowMs: number): RedisStore {
  const store = new ReconnectingRedisStore({
    prefix: `${prefix}:rl:${name}:`,
    sendCommand: async (...args: string[]): Promise<RedisReply> => {
      if (redis.status !== 'ready') throw new SessionStoreUnavailableError();
      try {
        return (await redis.call(args[0]!, ...args.slice(1))) as RedisReply;
      } catch (err) {
        // After a Redis restart the scripts are gone: the store reloads them on NOSCRIPT itself.
        if (err instanceof Error && /^NOSCRIPT/.test(err.message)) throw err;
        throw new SessionStoreUnavailableError(err);
      }
    },
  });
  // Sets windowMs and loads the scripts. That load fails while Redis is down (or not connected yet,
  // at start): it is retried on first use (see above), so the failure must not surface as an
  // unhandled rejection, which would end the process.
  store.init({ windowMs } as Parameters<RedisStore['init']>[0]).catch(() => undefined);
  return store;
}

/** The rate-limit middleware for POST /auth/login. */
export function loginRateLimit(options: LoginRateLimitOptions): RequestHandler {
  const store = redisRateLimitStore(options.redis, options.prefix, 'login', options.windowSeconds * 1000);
  const log = options.logger.child({ component: 'login-rate-limit' });
  return rateLimit({
    windowMs: options.windowSeconds * 1000,
    limit: options.max,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store: store as Store,
    passOnStoreError: false,
    // Only a synthetic account's successful sign-in is handed back (see the module comment).
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => isSyntheticSignIn(res),
    logger: {
      error: (err: unknown, message?: string) => log.debug({ err }, message ?? 'rate limiter error'),
      warn: (err: unknown) => log.warn({ err }, 'rate limiter configuration warning'),
    },
    handler: (req, _res, next) => {
      const reset = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : options.windowSeconds;
      next(
        new TooManyRequestsError('too many sign-in attempts from this address', 'TOO_MANY_LOGIN_ATTEMPTS', {
          retryAfterSeconds: seconds,
          hint: `Wait ${seconds} s before trying again.`,
        }),
      );
    },
  }) as unknown as RequestHandler;
}
