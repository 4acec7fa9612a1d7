/**
 * Sign-in throttling: slows password guessing without ever locking the owner out, and answers the
 * same way, in about the same time, whether or not the user name exists. It replaced the account
 * lockout (issue 10 item 3), which let anyone lock any account, the admin's included, with five
 * wrong passwords, and which only existing accounts answered.
 *
 * Three budgets, all counted in Redis through rate-limit-redis stores (so every replica and
 * cluster worker shares them), all keyed on the *typed* user name, so unknown names are throttled
 * exactly like real ones:
 * 1. per client address: LOGIN_RATE_LIMIT_MAX attempts per LOGIN_RATE_LIMIT_WINDOW_SECONDS, any
 *    account (login-rate-limit.middleware.ts, express-rate-limit) → 429.
 * 2. per account *and* client address: LOGIN_CLIENT_MAX_ATTEMPTS attempts without a success per
 *    LOGIN_THROTTLE_WINDOW_SECONDS → 429 TOO_MANY_LOGIN_ATTEMPTS with Retry-After. A success clears
 *    it. It stops one client from guessing one account; the owner at another address is not
 *    affected.
 * 3. per account, from every address: each failure in LOGIN_THROTTLE_WINDOW_SECONDS beyond
 *    LOGIN_ACCOUNT_DELAY_AFTER delays every later attempt on that account by
 *    LOGIN_ACCOUNT_DELAY_STEP_MS more, up to LOGIN_ACCOUNT_MAX_DELAY_MS (express-slow-down's
 *    formula: `(hits − delayAfter) × delayMs`, capped at `maxDelayMs`). Never a refusal: under a
 *    distributed attack the owner still signs in, only more slowly.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisStore } from 'rate-limit-redis';
import type { Config } from '../config/env.config.js';
import { TooManyRequestsError } from '../http/http-error.js';
import { redisRateLimitStore } from './login-rate-limit.middleware.js';

/** The settings of {@link LoginThrottle} (from the environment). */
export type LoginThrottleConfig = Pick<
  Config,
  'LOGIN_THROTTLE_WINDOW_SECONDS' | 'LOGIN_CLIENT_MAX_ATTEMPTS' | 'LOGIN_ACCOUNT_DELAY_AFTER' | 'LOGIN_ACCOUNT_DELAY_STEP_MS' | 'LOGIN_ACCOUNT_MAX_DELAY_MS'
>;

/** What a sign-in attempt may do. */
export interface ThrottleDecision {
  /** Wait this long before checking the password, ms (0 unless the account is under attack). */
  delayMs: number;
}

/** Throttles sign-in attempts; see the module comment. */
export interface LoginThrottle {
  /**
   * Counts an attempt on `username` from `ip` and says how long to wait before checking it.
   * @throws TooManyRequestsError TOO_MANY_LOGIN_ATTEMPTS (429) when this client used its budget for
   *   this account; SessionStoreUnavailableError (503) when Redis is down.
   */
  attempt(username: string, ip: string | null): Promise<ThrottleDecision>;
  /** Records a wrong password (or an unknown or inactive user). @throws SessionStoreUnavailableError */
  failed(username: string, ip: string | null): Promise<void>;
  /** Records a success: this client's count for the account starts again. @throws SessionStoreUnavailableError */
  succeeded(username: string, ip: string | null): Promise<void>;
}

/**
 * The key of a typed user name: a hash of its case-folded NFC form, so Redis holds no user names
 * (a name typed in the password field stays unreadable) and "Admin" and "admin" share a budget.
 */
export function accountKey(username: string): string {
  return createHash('sha256').update(username.normalize('NFC').toLowerCase()).digest('base64url').slice(0, 32);
}

/**
 * The per-account delay after `failures` failures in the window, ms:
 * min(maxDelayMs, stepMs × max(0, failures − delayAfter)). Source: express-slow-down's delay formula.
 */
export function accountDelayMs(
  failures: number,
  config: Pick<LoginThrottleConfig, 'LOGIN_ACCOUNT_DELAY_AFTER' | 'LOGIN_ACCOUNT_DELAY_STEP_MS' | 'LOGIN_ACCOUNT_MAX_DELAY_MS'>,
): number {
  return Math.min(config.LOGIN_ACCOUNT_MAX_DELAY_MS, config.LOGIN_ACCOUNT_DELAY_STEP_MS * Math.max(0, failures - config.LOGIN_ACCOUNT_DELAY_AFTER));
}

/** The Redis-backed throttle of the web process. */
export class RedisLoginThrottle implements LoginThrottle {
  private readonly pairs: RedisStore;
  private readonly accounts: RedisStore;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly config: LoginThrottleConfig,
  ) {
    const windowMs = config.LOGIN_THROTTLE_WINDOW_SECONDS * 1000;
    this.pairs = redisRateLimitStore(redis, prefix, 'login-client-account', windowMs);
    this.accounts = redisRateLimitStore(redis, prefix, 'login-account', windowMs);
  }

  async attempt(username: string, ip: string | null): Promise<ThrottleDecision> {
    const account = accountKey(username);
    const [pair, failures] = await Promise.all([this.pairs.increment(`${account}:${ip ?? '-'}`), this.accounts.get(account)]);
    if (pair.totalHits > this.config.LOGIN_CLIENT_MAX_ATTEMPTS) {
      const seconds = pair.resetTime ? Math.max(1, Math.ceil((pair.resetTime.getTime() - Date.now()) / 1000)) : this.config.LOGIN_THROTTLE_WINDOW_SECONDS;
      throw new TooManyRequestsError('too many failed sign-ins for this user name from this address', 'TOO_MANY_LOGIN_ATTEMPTS', {
        retryAfterSeconds: seconds,
        hint: `Wait ${seconds} s, or sign in from another workstation; an admin can reset the password.`,
      });
    }
    return { delayMs: accountDelayMs(failures?.totalHits ?? 0, this.config) };
  }

  async failed(username: string, _ip: string | null): Promise<void> {
    await this.accounts.increment(accountKey(username));
  }

  async succeeded(username: string, ip: string | null): Promise<void> {
    await this.pairs.resetKey(`${accountKey(username)}:${ip ?? '-'}`);
  }
}
