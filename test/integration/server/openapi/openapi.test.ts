import { expect } from 'chai';
import type { Express } from 'express';
import request from 'supertest';
import { TestApi } from '../support/api.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
}

/** Every (method, path) Express will route, found by walking the router stacks (not our own list). */
function expressRoutes(app: Express): Array<{ method: string; path: string }> {
  const found: Array<{ method: string; path: string }> = [];
  const walk = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) if (method !== '_all') found.push({ method, path: `${prefix}${layer.route.path}` });
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, `${prefix}${mount}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return found;
}

describe('server OpenAPI (integration): the document at /api/v1/openapi.json', function () {
  this.timeout(30_000);
  let api: TestApi;
  let doc: { openapi: string; paths: Record<string, Record<string, any>>; components: Record<string, any> };

  before(async () => {
    api = await TestApi.start('openapi');
    const res = await request(api.app).get('/api/v1/openapi.json');
    expect(res.status).to.equal(200);
    doc = res.body;
  });
  after(async () => {
    await api?.close();
  });

  it('is public OpenAPI 3.0 with the bearer scheme and the shared error schema', () => {
    expect(doc.openapi).to.equal('3.0.3');
    expect(doc.components.securitySchemes.bearerAuth).to.include({ type: 'http', scheme: 'bearer' });
    expect(doc.components.schemas).to.include.keys('Error', 'Patient', 'Appointment', 'User', 'AuditEvent');
  });

  it('documents every route Express serves, with the same method, and nothing else', () => {
    const routes = expressRoutes(api.app);
    expect(routes.length).to.be.greaterThan(25);
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    const served = new Set(routes.map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`));
    expect(
      [...served].filter((r) => !documented.has(r)),
      'served but not documented',
    ).to.deep.equal([]);
    expect(
      [...documented].filter((r) => !served.has(r)),
      'documented but not served',
    ).to.deep.equal([]);
  });

  it('gives each operation its path parameters, its security, request schema and error responses', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      const pathParams = [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.operationId, where).to.be.a('string');
        const inPath = (op.parameters ?? []).filter((p: { in: string }) => p.in === 'path').map((p: { name: string }) => p.name);
        expect(inPath.sort(), where).to.deep.equal([...pathParams].sort());
        const isPublic = ['/health', '/ready', '/metrics', '/api/v1/openapi.json', '/api/v1/auth/login'].includes(path);
        expect(op.security, where).to.deep.equal(isPublic ? [] : [{ bearerAuth: [] }]);
        if (path.startsWith('/api/v1/') && path !== '/api/v1/openapi.json') {
          expect(op.responses, where).to.include.keys('400', '503');
          if (!isPublic) expect(op.responses, where).to.include.keys('401', '403');
        }
        if (['post', 'patch'].includes(method) && op.requestBody) {
          expect(op.requestBody.content['application/json'].schema, where).to.be.an('object');
        }
      }
    }
    expect(doc.paths['/api/v1/patients']!.post.requestBody.content['application/json'].schema).to.deep.equal({ $ref: '#/components/schemas/CreatePatient' });
  });
});
