/**
 * Declares API routes once and gets both the Express handler chain and the OpenAPI operation.
 *
 * Each route states its method and path, who may call it (`access`), the zod schemas of its path
 * parameters, query and body, and its responses. The chain it builds is:
 *   authenticate → password-change gate → role check → `before` → read the JSON body (only routes
 *   with a body, at most the route's limit) → NFC-normalize text, refuse lone surrogates
 *   (text-input.ts) → validate params/query/body → handler.
 * So an unauthenticated or refused caller never gets a byte of its body read or parsed.
 * Controllers therefore receive validated, typed input and return `{ status, body }`; they never
 * parse or check anything themselves. Because the OpenAPI document is generated from the same
 * definitions, a route cannot exist without being documented.
 */
import { OpenAPIRegistry, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { UserRole } from '../users/user.types.js';
import { jsonBody, WRITE_BODY_BYTES } from './body-limits.js';
import { ForbiddenError } from './http-error.js';
import { RawJson } from './raw-json.js';
import { normalizeText } from './text-input.js';
import { actorOf, contextOf, type RequestContext } from './request-context.js';

/** Who may call a route. */
export type RouteAccess =
  | { public: true }
  | {
      roles: readonly UserRole[];
      /**
       * True for the few routes a user may call before replacing a one-time password (me, logout,
       * change-password); every other route answers 403 PASSWORD_CHANGE_REQUIRED until then.
       */
      allowPendingPasswordChange?: boolean;
    };

/** One documented response. */
export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  /** Default `application/json`. */
  contentType?: string;
}

/** What a handler returns; `undefined` when it wrote the response itself (a file download). */
export interface RouteResult {
  status?: number;
  /** Sent as JSON; a {@link RawJson} is sent as the text it holds. */
  body?: unknown;
  headers?: Record<string, string>;
}

type AnyObject = z.ZodObject;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** Validated input of a handler. */
export interface RouteInput<P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  /** The caller, from where. Reading it on a public route throws (a bug). */
  ctx: RequestContext;
  req: Request;
  res: Response;
}

/** A route definition. */
export interface RouteDefinition<P extends AnyObject | undefined, Q extends AnyObject | undefined, B extends z.ZodType | undefined> {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** Express path relative to the API prefix, e.g. `/patients/:id`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  access: RouteAccess;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * Most body bytes this route reads, default {@link WRITE_BODY_BYTES} (32 KiB); capped by the
   * router's `maxBodyBytes`. Only routes with a `body` schema read a body at all.
   */
  bodyLimitBytes?: number;
  /** Runs after the access checks and before the body is read (e.g. the login rate limiter). */
  before?: RequestHandler[];
  /** Success and route-specific error responses; the common errors are added automatically. */
  responses: Record<number, RouteResponse>;
  /**
   * Required on every route that needs a session: a caller refused by the role check (or by the
   * one-time-password gate) is recorded in the audit trail as `denied` under this action, with the
   * patient when `patientId` can name one from the validated path and query (the body of a refused
   * caller is never read).
   */
  auditDenied?: AuditDenied<P, Q>;
  handler(input: RouteInput<P, Q, B>): Promise<RouteResult | undefined>;
}

/** How a refused call to a route is recorded. */
export interface AuditDenied<P = unknown, Q = unknown> {
  action: string;
  resourceType: string;
  /** The patient the call was about, from the validated path and query (may look it up). */
  patientId?: (input: { params: Out<P>; query: Out<Q> }) => Promise<string | null> | string | null;
}

/** A route as registered, for tests and tooling. */
export interface RegisteredRoute {
  method: string;
  /** Full Express path, e.g. `/api/v1/patients/:id`. */
  path: string;
  /** Full OpenAPI path, e.g. `/api/v1/patients/{id}`. */
  openapiPath: string;
  operationId: string;
  access: RouteAccess;
}

/** Records a refused call to a patient-data route (audit trail); may throw to fail the request. */
export type DenialRecorder = (
  req: Request,
  denied: { action: string; resourceType: string; resourceId: string | null; patientId: string | null; code: string },
) => Promise<void>;

/** Dependencies of {@link ApiRouter}. */
export interface ApiRouterDeps {
  /** Mount path, e.g. `/api/v1`. */
  prefix: string;
  registry: OpenAPIRegistry;
  /** Resolves the session of the request and attaches its actor, or fails with 401/503. */
  authenticate: RequestHandler;
  recordDenial?: DenialRecorder;
  /** Most body bytes any route reads (BODY_LIMIT_BYTES capped by the heap: body-limits.ts). */
  maxBodyBytes: number;
}

/** The shape of every error body, for the document. */
export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Stable machine-readable code, e.g. VALIDATION_FAILED.' }),
      message: z.string(),
      hint: z.string().optional(),
      fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

const COMMON_ERRORS: Record<number, string> = {
  400: 'Invalid input: `error.fields` names every bad field.',
  413: "Body larger than the route's limit (PAYLOAD_TOO_LARGE names it).",
  503: 'A dependency is unavailable (database busy or down, Redis down for sessions, audit trail unwritable); retry after Retry-After.',
};
const AUTH_ERRORS: Record<number, string> = {
  401: 'No valid session (missing, expired or revoked token).',
  403: 'The role may not call this route, or the one-time password must be changed first.',
};

/** Express `:name` path parameters → OpenAPI `{name}`. */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * A handler's input; `ctx` is computed on first use (public routes have none), through a
 * prototype getter rather than a per-request `defineProperty`.
 */
class Input {
  constructor(
    readonly params: unknown,
    readonly query: unknown,
    readonly body: unknown,
    readonly req: Request,
    readonly res: Response,
  ) {}

  get ctx(): RequestContext {
    return contextOf(this.req);
  }
}

/** Collects routes into one Express router and one OpenAPI registry. */
export class ApiRouter {
  readonly router = Router();
  readonly routes: RegisteredRoute[] = [];

  constructor(private readonly deps: ApiRouterDeps) {
    deps.registry.registerComponent('securitySchemes', 'bearerAuth', {
      type: 'http',
      scheme: 'bearer',
      description: 'Opaque session token from POST /api/v1/auth/login.',
    });
  }

  /** Adds a route. */
  add<P extends AnyObject | undefined = undefined, Q extends AnyObject | undefined = undefined, B extends z.ZodType | undefined = undefined>(
    def: RouteDefinition<P, Q, B>,
  ): this {
    const chain: RequestHandler[] = [];
    if (!('public' in def.access) && def.auditDenied === undefined) {
      throw new Error(`${def.method.toUpperCase()} ${def.path} needs a session but declares no auditDenied: refused calls must be audited`);
    }
    if (!('public' in def.access)) {
      const access = def.access;
      chain.push(this.deps.authenticate);
      chain.push(this.authorize(def, access.roles, access.allowPendingPasswordChange === true));
    }
    chain.push(...(def.before ?? []));
    if (def.body !== undefined) chain.push(jsonBody(Math.min(def.bodyLimitBytes ?? WRITE_BODY_BYTES, this.deps.maxBodyBytes)));
    chain.push(async (req, res) => {
      const params = def.params ? def.params.parse(req.params) : undefined;
      const query = def.query ? def.query.parse(normalizeText(req.query ?? {}, 'query')) : undefined;
      const body = def.body ? def.body.parse(normalizeText(req.body, 'body')) : undefined;
      const result = await def.handler(new Input(params, query, body, req, res) as unknown as RouteInput<P, Q, B>);
      if (result === undefined) return;
      if (result.headers) for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, value);
      res.statusCode = result.status ?? 200;
      if (result.body === undefined) res.end();
      else if (result.body instanceof RawJson) {
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.setHeader('Content-Length', Buffer.byteLength(result.body.text));
        res.end(result.body.text);
      } else res.json(result.body);
    });
    this.router[def.method](def.path, ...chain);

    const fullPath = `${this.deps.prefix}${def.path}`;
    this.routes.push({
      method: def.method,
      path: fullPath,
      openapiPath: toOpenApiPath(fullPath),
      operationId: def.operationId,
      access: def.access,
    });
    this.deps.registry.registerPath(this.openApiOperation(def, fullPath));
    return this;
  }

  private authorize(def: RouteDefinition<any, any, any>, roles: readonly UserRole[], allowPending: boolean): RequestHandler {
    return async (req, _res, next) => {
      const actor = actorOf(req);
      if (actor === undefined) throw new Error('authorize ran before authenticate');
      if (actor.mustChangePassword && !allowPending) {
        await this.recordRefusal(def, req, 'PASSWORD_CHANGE_REQUIRED');
        throw new ForbiddenError('change your one-time password first', 'PASSWORD_CHANGE_REQUIRED', {
          hint: 'POST /api/v1/auth/change-password with currentPassword and newPassword.',
        });
      }
      if (!roles.includes(actor.role)) {
        await this.recordRefusal(def, req, 'FORBIDDEN');
        throw new ForbiddenError(`the ${actor.role} role may not ${def.summary.toLowerCase()}`, 'FORBIDDEN', {
          hint: `Allowed roles: ${roles.join(', ')}.`,
        });
      }
      next();
    };
  }

  /** Writes the `denied` record of a refused call; throws (503 AUDIT_UNAVAILABLE) if it cannot. */
  private async recordRefusal(def: RouteDefinition<any, any, any>, req: Request, code: string): Promise<void> {
    if (def.auditDenied === undefined || this.deps.recordDenial === undefined) return;
    // Only well-formed ids are recorded: the raw path segments and query are unvalidated input.
    const params = def.params?.safeParse(req.params);
    const query = def.query?.safeParse(req.query ?? {});
    const paramData = params?.success ? (params.data as Record<string, unknown>) : undefined;
    const id = paramData?.id;
    let patientId: string | null = null;
    if (def.auditDenied.patientId !== undefined && (def.params === undefined || params?.success) && (def.query === undefined || query?.success)) {
      try {
        patientId = (await def.auditDenied.patientId({ params: paramData, query: query?.success ? query.data : undefined })) ?? null;
      } catch {
        patientId = null; // the lookup failed (database busy): record the refusal without the patient
      }
    }
    await this.deps.recordDenial(req, {
      action: def.auditDenied.action,
      resourceType: def.auditDenied.resourceType,
      resourceId: typeof id === 'string' ? id : null,
      patientId,
      code,
    });
  }

  private openApiOperation(def: RouteDefinition<any, any, any>, fullPath: string): RouteConfig {
    const responses: RouteConfig['responses'] = {};
    for (const [status, response] of Object.entries(def.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema ? { content: { [response.contentType ?? 'application/json']: { schema: response.schema } } } : {}),
      };
    }
    const isPublic = 'public' in def.access;
    const common: Record<number, string> = { ...COMMON_ERRORS, ...(isPublic ? {} : AUTH_ERRORS) };
    for (const [status, description] of Object.entries(common)) {
      if (responses[status] === undefined) {
        responses[status] = { description, content: { 'application/json': { schema: errorResponseSchema } } };
      }
    }
    const roles = 'roles' in def.access ? def.access.roles : [];
    return {
      method: def.method,
      path: toOpenApiPath(fullPath),
      operationId: def.operationId,
      summary: def.summary,
      description: [def.description, isPublic ? 'Public.' : `Roles: ${roles.join(', ')}.`].filter(Boolean).join('\n\n'),
      tags: [def.tag],
      security: isPublic ? [] : [{ bearerAuth: [] }],
      'x-carebox-roles': roles,
      request: {
        ...(def.params ? { params: def.params } : {}),
        ...(def.query ? { query: def.query } : {}),
        ...(def.body ? { body: { required: true, content: { 'application/json': { schema: def.body } } } } : {}),
      },
      responses,
    } as RouteConfig;
  }
}
