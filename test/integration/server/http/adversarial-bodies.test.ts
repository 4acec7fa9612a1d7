import { expect } from 'chai';
import { Agent, request as httpRequest } from 'node:http';
import { createKnex } from '../../../../server/src/db/knex.factory.js';
import { createFirstAdmin } from '../../../../server/src/users/first-admin.js';
import { GOOD_PASSWORD, metricValue, migratedDatabase, silent } from '../support/api.js';
import { freePort, serverEnv, testConfig, type TestDatabase } from '../support/services.js';
import { SpawnedProcess } from '../support/spawned-process.js';

const MiB = 1024 * 1024;

interface Reply {
  status: number;
  body: string;
}

/**
 * Sends one request on its own keep-alive connection (as nginx talks to its upstream), streaming
 * `body` in 64 KiB chunks (Content-Length, or chunked when `chunked`), and resolves with the
 * response as soon as it is complete, even if the server answered before reading the whole body
 * (as it should for 401 and 413); the client then stops sending and drops the connection. A
 * connection dropped before any response fails the test.
 */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string, chunked = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body, 'utf8');
    const lengthHeader: Record<string, string | number> =
      data === undefined ? {} : chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': data.length };
    let answered = false;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const req = httpRequest({ host: '127.0.0.1', port, method, path, agent, headers: { ...headers, ...lengthHeader } }, (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: text });
        agent.destroy();
      });
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (data === undefined) {
      req.end();
      return;
    }
    let offset = 0;
    const pump = (): void => {
      while (offset < data.length && !answered && !req.destroyed) {
        const chunk = data.subarray(offset, offset + 64 * 1024);
        offset += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered && !req.destroyed) req.end();
    };
    pump();
  });
}

/** `[{},{},…]` of about `bytes` bytes. */
const emptyObjects = (bytes: number): string => `[${'{},'.repeat(Math.floor(bytes / 3) - 1)}{}]`;
/** `[[[[…]]]]` of `bytes` bytes. */
const deepArrays = (bytes: number): string => '['.repeat(bytes / 2) + ']'.repeat(bytes / 2);
/** `{"a":{"a":…1…}}` of about `bytes` bytes. */
const deepObjects = (bytes: number): string => '{"a":'.repeat(Math.floor(bytes / 6)) + '1' + '}'.repeat(Math.floor(bytes / 6));
/** A patient body with one huge string field. */
const hugeString = (bytes: number): string =>
  JSON.stringify({ mrn: 'HUGE-1', givenName: 'x'.repeat(bytes), familyName: 'Y', birthDate: '1970-01-01', sex: 'unknown' });

/**
 * Item 1 of issue 10: against the real server (cluster primary + 2 workers, each with the 144 MiB
 * heap cap the default tier plans, and the old 10 MiB BODY_LIMIT_BYTES), adversarial bodies are
 * answered 401 (no session: the body is never read), 413 (over the route's limit) or 400 (parsed
 * but invalid), and no worker dies (carebox_web_worker_restarts_total stays 0).
 */
describe('adversarial request bodies (integration, real server): 401/413/400 and no worker restart', function () {
  this.timeout(180_000);
  let database: TestDatabase;
  let server: SpawnedProcess;
  let port: number;
  let auth: Record<string, string>;
  let patientId: string;

  before(async () => {
    database = await migratedDatabase('adversarial');
    const db = createKnex(testConfig({ DATABASE_URL: database.url }), { applicationName: 'carebox-test', logger: silent });
    const first = await createFirstAdmin(db);
    await db.destroy();
    if (!first.created) throw new Error('admin existed');
    port = await freePort();
    server = SpawnedProcess.start(
      'main',
      serverEnv({
        DATABASE_URL: database.url,
        PORT: String(port),
        WEB_CONCURRENCY: '2',
        LOG_LEVEL: 'info',
        LOGIN_RATE_LIMIT_MAX: '1000',
        BODY_LIMIT_BYTES: String(10 * MiB),
        NODE_OPTIONS: '--max-old-space-size=144',
      }),
    );
    await server.waitForLog((l) => l.msg === 'listening' && server.logs.filter((x) => x.msg === 'listening').length === 2, 30_000, 'two workers listening');
    const json = { 'Content-Type': 'application/json' };
    const login = await send(port, 'POST', '/api/v1/auth/login', json, JSON.stringify({ username: 'admin', password: first.password }));
    const token = JSON.parse(login.body).token as string;
    auth = { ...json, Authorization: `Bearer ${token}` };
    const changed = await send(
      port,
      'POST',
      '/api/v1/auth/change-password',
      auth,
      JSON.stringify({ currentPassword: first.password, newPassword: GOOD_PASSWORD }),
    );
    expect(changed.status).to.equal(204);
    const created = await send(
      port,
      'POST',
      '/api/v1/patients',
      auth,
      JSON.stringify({ mrn: 'ADV-1', givenName: 'Ada', familyName: 'Adversary', birthDate: '1970-01-01', sex: 'unknown' }),
    );
    expect(created.status, created.body).to.equal(201);
    patientId = JSON.parse(created.body).id as string;
  });
  after(async () => {
    await server?.stop();
    await database?.drop();
  });

  async function restarts(): Promise<number> {
    const text = (await send(port, 'GET', '/metrics', {})).body;
    expect(text, 'the primary exports the restart counter').to.match(/^carebox_web_worker_restarts_total\{reason="exit"\} \d+$/m);
    return (
      metricValue(text, 'carebox_web_worker_restarts_total', { reason: 'exit' }) + metricValue(text, 'carebox_web_worker_restarts_total', { reason: 'signal' })
    );
  }

  it('unauthenticated: every body on a protected route gets 401 without being read; sign-in bodies over 4 KiB get 413', async () => {
    const json = { 'Content-Type': 'application/json' };
    const broken = await send(port, 'POST', '/api/v1/patients', json, '{"mrn": ');
    expect(broken.status, 'broken JSON without a session is 401, not 400 INVALID_JSON').to.equal(401);
    for (const body of [emptyObjects(10 * MiB), deepArrays(10 * MiB), hugeString(10 * MiB)]) {
      for (const [method, path] of [
        ['POST', '/api/v1/patients'],
        ['PATCH', `/api/v1/patients/${patientId}`],
        ['POST', '/api/v1/appointments'],
        ['POST', '/api/v1/users'],
      ] as const) {
        const res = await send(port, method, path, json, body);
        expect(res.status, `${method} ${path}`).to.equal(401);
      }
    }
    const chunked = await send(port, 'POST', '/api/v1/patients', json, emptyObjects(10 * MiB), true);
    expect(chunked.status).to.equal(401);
    for (const body of [emptyObjects(10 * MiB), deepArrays(10 * MiB), JSON.stringify({ username: 'admin', password: 'x'.repeat(10 * MiB) })]) {
      const res = await send(port, 'POST', '/api/v1/auth/login', json, body);
      expect(res.status).to.equal(413);
      expect(JSON.parse(res.body).error.code).to.equal('PAYLOAD_TOO_LARGE');
      expect(JSON.parse(res.body).error.message).to.match(/4096 bytes/);
    }
    const chunkedLogin = await send(port, 'POST', '/api/v1/auth/login', json, emptyObjects(10 * MiB), true);
    expect(chunkedLogin.status).to.equal(413);
    // Within the sign-in limit, the worst shapes parse and are refused by validation.
    for (const body of [deepArrays(4000), emptyObjects(4000), deepObjects(4000)]) {
      const res = await send(port, 'POST', '/api/v1/auth/login', json, body);
      expect(res.status, body.slice(0, 20)).to.equal(400);
    }
    expect(await restarts()).to.equal(0);
  });

  it('authenticated: bodies over the 32 KiB write limit get 413, the worst shapes under it 400; nothing restarts', async () => {
    const targets = [
      ['POST', '/api/v1/patients'],
      ['PATCH', `/api/v1/patients/${patientId}`],
      ['POST', '/api/v1/appointments'],
      ['POST', '/api/v1/users'],
      ['POST', '/api/v1/auth/change-password'],
    ] as const;
    for (const body of [emptyObjects(10 * MiB), deepArrays(10 * MiB), deepObjects(10 * MiB), hugeString(10 * MiB), emptyObjects(40 * 1024)]) {
      for (const [method, path] of targets) {
        const res = await send(port, method, path, auth, body);
        expect(res.status, `${method} ${path} ${body.length} bytes`).to.equal(413);
        expect(JSON.parse(res.body).error.code).to.equal('PAYLOAD_TOO_LARGE');
      }
    }
    const chunked = await send(port, 'POST', '/api/v1/patients', auth, deepArrays(10 * MiB), true);
    expect(chunked.status).to.equal(413);
    for (const body of [deepArrays(30 * 1024), emptyObjects(30 * 1024), deepObjects(30 * 1024), hugeString(30 * 1024)]) {
      const res = await send(port, 'POST', '/api/v1/patients', auth, body);
      expect(res.status, body.slice(0, 20)).to.equal(400);
      expect(JSON.parse(res.body).error.code).to.equal('VALIDATION_FAILED');
    }
    // A body on a route that takes none is never read.
    const get = await send(port, 'GET', `/api/v1/patients/${patientId}`, auth, emptyObjects(10 * MiB));
    expect(get.status).to.equal(200);
    // Many at once: the heap holds.
    const burst = await Promise.all(
      Array.from({ length: 24 }, (_, i) => send(port, 'POST', '/api/v1/patients', auth, i % 2 ? deepArrays(30 * 1024) : emptyObjects(30 * 1024))),
    );
    expect(burst.map((r) => r.status)).to.deep.equal(Array(24).fill(400));
    expect(await restarts()).to.equal(0);
    expect(server.logs.filter((l) => l.msg === 'web worker died; restarting')).to.deep.equal([]);
    expect(server.stderr).to.not.match(/heap limit|FATAL/i);
    const ok = await send(port, 'GET', `/api/v1/patients/${patientId}`, auth);
    expect(ok.status).to.equal(200);
  });

  it('the restart counter counts: a killed worker is replaced and counted once', async () => {
    const started = server.logs.filter((l) => l.msg === 'web worker started').map((l) => l.workerPid as number);
    process.kill(started[0]!, 'SIGKILL');
    await server.waitForLog(
      (l) => l.msg === 'web worker started' && server.logs.filter((x) => x.msg === 'web worker started').length === 3,
      20_000,
      'the replacement worker',
    );
    await server.waitForLog((l) => l.msg === 'listening' && server.logs.filter((x) => x.msg === 'listening').length === 3, 30_000, 'the replacement listening');
    const text = (await send(port, 'GET', '/metrics', {})).body;
    expect(metricValue(text, 'carebox_web_worker_restarts_total', { reason: 'signal' })).to.equal(1);
  });
});
