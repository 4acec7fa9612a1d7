/**
 * Sessions held in Redis, addressed by opaque bearer tokens.
 *
 * - A token is 32 random bytes (base64url, prefixed `cbx_`). Redis stores only its SHA-256, so a
 *   Redis dump or `MONITOR` never shows a usable token.
 * - `<prefix>:s:<sha256>` holds the session JSON with an idle TTL (SESSION_IDLE_TIMEOUT_SECONDS)
 *   that each use renews (GETEX), bounded by an absolute end (SESSION_MAX_AGE_SECONDS).
 * - `<prefix>:su:<userId>` is the set of a user's session ids, so a password change, a role change
 *   or a deactivation revokes every session of that user.
 *
 * Redis down: sessions can neither be checked nor created. Every method then fails at once (no
 * waiting for the reconnect) with 503 SESSION_STORE_UNAVAILABLE; callers never see a 500.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ServiceUnavailableError } from '../http/http-error.js';
import type { UserRole } from '../users/user.types.js';

/** What a session remembers about its user. */
export interface Session {
  userId: string;
  username: string;
  role: UserRole;
  mustChangePassword: boolean;
  /** Sign-in time, ms since the epoch. */
  createdAt: number;
  /** Absolute end, ms since the epoch. */
  expiresAt: number;
}

/** Sessions cannot be read or written because Redis is unavailable. */
export class SessionStoreUnavailableError extends ServiceUnavailableError {
  constructor(cause?: unknown) {
    super('SESSION_STORE_UNAVAILABLE', 'sign-in and sessions are unavailable: the session store (Redis) cannot be reached', {
      retryAfterSeconds: 5,
      hint: 'Retry in a few seconds. If it persists, the operator should check the redis service (carebox status).',
      cause,
    });
  }
}

/** Options of {@link SessionStore}. */
export interface SessionStoreOptions {
  /** Key prefix (QUEUE_NAME_PREFIX). */
  prefix: string;
  idleTimeoutSeconds: number;
  maxAgeSeconds: number;
}

/** Token format: `cbx_` + 43 base64url characters. */
const TOKEN = /^cbx_[A-Za-z0-9_-]{43}$/;

/** The session id of a token: its SHA-256, hex. */
export function sessionIdOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** True when `token` has the shape of a token we issue (checked before any Redis round trip). */
export function isWellFormedToken(token: string): boolean {
  return TOKEN.test(token);
}

/** The session store of one process, over the process's ioredis client. */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: SessionStoreOptions,
  ) {}

  private key(sessionId: string): string {
    return `${this.options.prefix}:s:${sessionId}`;
  }

  private userKey(userId: string): string {
    return `${this.options.prefix}:su:${userId}`;
  }

  /** Fails fast while Redis is not connected: a queued command would wait for the reconnect. */
  private ensureConnected(): void {
    if (this.redis.status !== 'ready') throw new SessionStoreUnavailableError();
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    this.ensureConnected();
    try {
      return await work();
    } catch (err) {
      throw new SessionStoreUnavailableError(err);
    }
  }

  /**
   * Opens a session.
   * @returns the bearer token (shown to the client once) and the session.
   * @throws SessionStoreUnavailableError when Redis is unavailable.
   */
  async create(user: Pick<Session, 'userId' | 'username' | 'role' | 'mustChangePassword'>): Promise<{ token: string; sessionId: string; session: Session }> {
    const token = `cbx_${randomBytes(32).toString('base64url')}`;
    const sessionId = sessionIdOf(token);
    const now = Date.now();
    const session: Session = { ...user, createdAt: now, expiresAt: now + this.options.maxAgeSeconds * 1000 };
    await this.call(() =>
      this.redis
        .multi()
        .set(this.key(sessionId), JSON.stringify(session), 'EX', this.options.idleTimeoutSeconds)
        .sadd(this.userKey(user.userId), sessionId)
        .expire(this.userKey(user.userId), this.options.maxAgeSeconds)
        .exec()
        .then(throwOnTransactionError),
    );
    return { token, sessionId, session };
  }

  /**
   * Looks a token up and renews its idle timeout.
   * @returns the session, or null when the token is malformed, unknown, expired or revoked.
   * @throws SessionStoreUnavailableError when Redis is unavailable.
   */
  async get(token: string): Promise<{ sessionId: string; session: Session } | null> {
    if (!isWellFormedToken(token)) return null;
    const sessionId = sessionIdOf(token);
    const raw = await this.call(() => this.redis.getex(this.key(sessionId), 'EX', this.options.idleTimeoutSeconds));
    if (raw === null) return null;
    let session: Session;
    try {
      session = JSON.parse(raw) as Session;
    } catch {
      return null;
    }
    if (Date.now() >= session.expiresAt) {
      await this.revoke(session.userId, sessionId);
      return null;
    }
    return { sessionId, session };
  }

  /** Updates the session's copy of the user's state (after a password change). */
  async update(sessionId: string, patch: Partial<Pick<Session, 'mustChangePassword'>>): Promise<void> {
    const key = this.key(sessionId);
    await this.call(async () => {
      const raw = await this.redis.get(key);
      if (raw === null) return;
      const session = { ...(JSON.parse(raw) as Session), ...patch };
      await this.redis.set(key, JSON.stringify(session), 'KEEPTTL');
    });
  }

  /** Ends one session (logout). */
  async revoke(userId: string, sessionId: string): Promise<void> {
    await this.call(() => this.redis.multi().del(this.key(sessionId)).srem(this.userKey(userId), sessionId).exec().then(throwOnTransactionError));
  }

  /**
   * Ends every session of a user, except `keepSessionId` if given.
   * @returns how many sessions were ended.
   */
  async revokeAll(userId: string, keepSessionId?: string): Promise<number> {
    return this.call(async () => {
      const ids = (await this.redis.smembers(this.userKey(userId))).filter((id) => id !== keepSessionId);
      if (ids.length === 0) return 0;
      const multi = this.redis.multi();
      for (const id of ids) multi.del(this.key(id));
      multi.srem(this.userKey(userId), ...ids);
      await multi.exec().then(throwOnTransactionError);
      return ids.length;
    });
  }
}

function throwOnTransactionError(results: Array<[Error | null, unknown]> | null): void {
  if (results === null) throw new Error('Redis transaction aborted');
  for (const [err] of results) if (err) throw err;
}
