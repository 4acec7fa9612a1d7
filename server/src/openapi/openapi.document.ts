/**
 * The OpenAPI 3.0 document, generated from the same zod schemas that validate requests (every API
 * route registers itself through ApiRouter), plus the operational routes.
 */
import { OpenApiGeneratorV3, type OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

/** Where the document is served. */
export const OPENAPI_PATH = '/api/v1/openapi.json';

const checkResult = z.string().meta({ description: '`ok` or `down: <reason>`.' });

/** Documents the routes outside /api/v1's router: probes, metrics and the document itself. */
export function registerOperationalRoutes(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'get',
    path: '/health',
    operationId: 'health',
    summary: 'Liveness: the process answers (checks nothing)',
    tags: ['operations'],
    security: [],
    responses: { 200: { description: 'Alive.', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } } },
  });
  registry.registerPath({
    method: 'get',
    path: '/ready',
    operationId: 'ready',
    summary: 'Readiness: PostgreSQL (connected and migrated) and Redis',
    description:
      '200 `ready`; 200 `degraded` when only Redis is down (reads fall back to PostgreSQL; sign-in and authenticated routes answer 503 until it is back); ' +
      '503 `not_ready` when PostgreSQL is down or not migrated; 503 `shutting_down` once SIGTERM was received.',
    tags: ['operations'],
    security: [],
    responses: {
      200: {
        description: 'ready or degraded.',
        content: {
          'application/json': { schema: z.object({ status: z.enum(['ready', 'degraded']), checks: z.object({ postgres: checkResult, redis: checkResult }) }) },
        },
      },
      503: {
        description: 'not_ready or shutting_down.',
        content: {
          'application/json': {
            schema: z.object({ status: z.enum(['not_ready', 'shutting_down']), checks: z.object({ postgres: checkResult, redis: checkResult }).optional() }),
          },
        },
      },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics of the container',
    description: 'Not authenticated: keep it off the public edge (nginx blocks it); the console scrapes containers directly.',
    tags: ['operations'],
    security: [],
    responses: { 200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: z.string() } } } },
  });
  registry.registerPath({
    method: 'get',
    path: OPENAPI_PATH,
    operationId: 'openapi',
    summary: 'This document',
    tags: ['operations'],
    security: [],
    responses: { 200: { description: 'OpenAPI 3.0 document.', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
  });
}

/** Generates the document from `registry`. */
export function generateOpenApiDocument(registry: OpenAPIRegistry, version: string): Record<string, unknown> {
  const generator = new OpenApiGeneratorV3(registry.definitions);
  return generator.generateDocument({
    openapi: '3.0.3',
    info: {
      title: 'Carebox hospital records API',
      version,
      description:
        'Patients, appointments, users and the audit trail of a Carebox appliance. Sign in with POST /api/v1/auth/login and send ' +
        '"Authorization: Bearer <token>". Errors are `{ "error": { "code", "message", "hint"?, "fields"? } }`. Lists page with ' +
        '`limit` and the opaque `cursor` from `nextCursor`.',
    },
    servers: [{ url: '/' }],
  }) as unknown as Record<string, unknown>;
}
