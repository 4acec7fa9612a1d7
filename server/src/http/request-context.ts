/**
 * Who is asking, from where: attached to each request by the authentication middleware and passed
 * explicitly to services (they never read `req`). Kept in a WeakMap so Express's types stay as they
 * are and nothing outlives the request.
 */
import type { Request } from 'express';
import type { UserRole } from '../users/user.types.js';

/** The signed-in user of a request. */
export interface Actor {
  userId: string;
  username: string;
  role: UserRole;
  /** True until the user changes the one-time password they were given. */
  mustChangePassword: boolean;
  /** SHA-256 of the session token (never the token itself); identifies the session to revoke. */
  sessionId: string;
}

/** What services need to know about the request that calls them (for the audit trail). */
export interface RequestContext {
  actor: Actor;
  /** Client address (X-Forwarded-For through TRUST_PROXY hops), or null. */
  ip: string | null;
  /** The request id (X-Request-Id), or null. */
  requestId: string | null;
}

const actors = new WeakMap<Request, Actor>();

/** Records the signed-in user of `req` (authentication middleware only). */
export function setActor(req: Request, actor: Actor): void {
  actors.set(req, actor);
}

/** The signed-in user of `req`, or undefined on public routes. */
export function actorOf(req: Request): Actor | undefined {
  return actors.get(req);
}

/** Client address and request id of `req`. */
export function requestOrigin(req: Request): { ip: string | null; requestId: string | null } {
  const id = (req as { id?: unknown }).id;
  return { ip: req.ip ?? null, requestId: typeof id === 'string' ? id : null };
}

/**
 * The context of an authenticated request.
 * @throws Error when no actor is attached (a route declared public calls a service that needs one: a bug).
 */
export function contextOf(req: Request): RequestContext {
  const actor = actors.get(req);
  if (actor === undefined) throw new Error('request context needs an authenticated route');
  return { actor, ...requestOrigin(req) };
}
