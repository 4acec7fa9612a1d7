/**
 * Resolves `Authorization: Bearer <token>` to a session and attaches the actor to the request.
 * 401 when the header is missing, malformed, or names no live session; 503
 * SESSION_STORE_UNAVAILABLE when Redis cannot be reached (the session cannot be checked, and
 * letting the request through unchecked is not an option).
 */
import type { RequestHandler } from 'express';
import { UnauthorizedError } from '../http/http-error.js';
import { setActor } from '../http/request-context.js';
import type { SessionStore } from './session.store.js';

/** The authentication middleware over `sessions`. */
export function authenticate(sessions: SessionStore): RequestHandler {
  return async (req, _res, next) => {
    const header = req.headers.authorization;
    if (header === undefined || header === '') throw new UnauthorizedError('sign-in required');
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (match === null) throw new UnauthorizedError('the Authorization header must be "Bearer <token>"', 'INVALID_TOKEN');
    const found = await sessions.get(match[1]!);
    if (found === null) throw new UnauthorizedError('the session has expired or was ended; sign in again', 'INVALID_TOKEN');
    const { session, sessionId } = found;
    setActor(req, {
      userId: session.userId,
      username: session.username,
      role: session.role,
      mustChangePassword: session.mustChangePassword,
      sessionId,
    });
    next();
  };
}
