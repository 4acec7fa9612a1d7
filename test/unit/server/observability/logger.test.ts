import { expect } from 'chai';
import { Writable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { createLogger, safeErrorSerializer } from '../../../../server/src/observability/logger.js';
import express from 'express';
import request from 'supertest';
import { requestId, requestLogger, serializeRequest } from '../../../../server/src/observability/request-logger.middleware.js';

/** A logger whose output lines are collected as parsed JSON. */
function capture(): { lines: Array<Record<string, unknown>>; logger: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', role: 'test', destination }) };
}

describe('server observability: logger', () => {
  it('redacts credentials in headers and in objects logged by mistake', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        req: { headers: { authorization: 'Bearer abc.def', cookie: 'sid=123', 'user-agent': 'curl' } },
        login: { user: 'alice', password: 'hunter2' },
        config: { database: { connectionString: 'postgres://u:pw@h/db' } },
      },
      'something happened',
    );
    const text = JSON.stringify(lines);
    for (const secret of ['Bearer abc.def', 'sid=123', 'hunter2', 'postgres://u:pw@h/db']) expect(text).not.to.include(secret);
    expect(text).to.include('curl');
    expect(text).to.include('[redacted]');
  });

  it('redacts patient fields logged by mistake', () => {
    const { lines, logger } = capture();
    logger.info({ patient: { mrn: 'MRN-77', familyName: 'Doe', given_name: 'Jane', birthDate: '1970-01-01' } }, 'oops');
    const text = JSON.stringify(lines);
    for (const value of ['MRN-77', 'Doe', 'Jane', '1970-01-01']) expect(text).not.to.include(value);
  });

  it('serializes errors without driver detail fields', () => {
    const pgError = Object.assign(new Error('duplicate key value violates unique constraint "patients_mrn_unique"'), {
      code: '23505',
      detail: 'Key (mrn)=(MRN-0042) already exists.',
      where: 'SQL statement',
    });
    const serialized = safeErrorSerializer(pgError) as Record<string, unknown>;
    expect(serialized).to.include({ type: 'Error', code: '23505' });
    expect(serialized).not.to.have.property('detail');
    expect(JSON.stringify(serialized)).not.to.include('MRN-0042');

    const { lines, logger } = capture();
    logger.error({ err: pgError }, 'insert failed');
    expect(JSON.stringify(lines)).not.to.include('MRN-0042');
  });
});

describe('server observability: request log shape', () => {
  const fakeRequest = (url: string, headers: Record<string, string> = {}): IncomingMessage =>
    ({ url, method: 'GET', headers, socket: { remoteAddress: '10.0.0.9' } }) as unknown as IncomingMessage;

  it('logs the path without the query string (searches carry names and MRNs)', () => {
    const logged = serializeRequest(fakeRequest('/api/v1/patients?q=Doe&mrn=MRN-1', { authorization: 'Bearer x' }));
    expect(logged).to.include({ method: 'GET', path: '/api/v1/patients', remoteAddress: '10.0.0.9' });
    expect(JSON.stringify(logged)).not.to.include('Doe');
    expect(JSON.stringify(logged)).not.to.include('Bearer');
  });

  it('keeps a sane incoming X-Request-Id and replaces anything else', () => {
    expect(requestId(fakeRequest('/', { 'x-request-id': 'abcdef0123456789' }))).to.equal('abcdef0123456789');
    const replaced = requestId(fakeRequest('/', { 'x-request-id': 'bad id\nwith newline' }));
    expect(replaced).to.match(/^[0-9a-f-]{36}$/);
  });
});

describe('server observability: request log modes (REQUEST_LOG)', () => {
  /** An Express app with the request logger: /ok 200, /missing 404, /boom 500, /slow 200 after 600 ms. */
  const appWith = (mode: 'all' | 'errors', slowMs: number) => {
    const { lines, logger } = capture();
    const app = express();
    app.use(requestLogger(logger, { mode, slowMs }));
    app.get('/ok', (_req, res) => void res.json({ ok: true }));
    app.get('/missing', (_req, res) => void res.status(404).json({}));
    app.get('/boom', (_req, res) => void res.status(500).json({}));
    app.get('/slow', (_req, res) => void setTimeout(() => res.json({ ok: true }), 600));
    return { app, lines };
  };
  const paths = (lines: Array<Record<string, unknown>>) => lines.map((l) => (l.req as { path: string }).path).sort();

  it('all: a line for every request, with the request id echoed', async () => {
    const { app, lines } = appWith('all', 1000);
    for (const p of ['/ok', '/missing', '/boom', '/slow']) await request(app).get(p);
    expect(paths(lines)).to.deep.equal(['/boom', '/missing', '/ok', '/slow']);
  });

  it('errors: only 4xx, 5xx and slow requests get a line; every response still carries X-Request-Id', async () => {
    const { app, lines } = appWith('errors', 500);
    for (const p of ['/ok', '/ok', '/missing', '/boom', '/slow']) {
      const r = await request(app).get(p).set('x-request-id', 'abcdef0123456789');
      expect(r.headers['x-request-id']).to.equal('abcdef0123456789');
    }
    expect(paths(lines)).to.deep.equal(['/boom', '/missing', '/slow']);
    expect(lines.find((l) => (l.req as { path: string }).path === '/boom')).to.include({ level: 50 });
    for (const l of lines) expect(l.req).to.include({ id: 'abcdef0123456789' });
  });
});
