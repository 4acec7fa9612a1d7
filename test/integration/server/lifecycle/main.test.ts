import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { createKnex } from '../../../../server/src/db/knex.factory.js';
import { createLogger } from '../../../../server/src/observability/logger.js';
import { createTestDatabase, freePort, serverEnv, testConfig, type TestDatabase } from '../support/services.js';
import { SpawnedProcess } from '../support/spawned-process.js';

const silent = createLogger({ level: 'silent', role: 'test' });

/** A started request whose body is still being uploaded. */
interface SlowUpload {
  /** Sends the rest of the body and ends the request. */
  finish(): void;
  response: Promise<{ status: number; body: string }>;
}

/** POSTs a JSON body of `size` bytes, sending only the first half until `finish()`. */
function slowUpload(port: number, path: string, size: number): SlowUpload {
  const body = JSON.stringify({ note: 'x'.repeat(size - 12) });
  const half = Math.floor(body.length / 2);
  let finish = (): void => undefined;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, half));
    finish = () => req.end(body.slice(half));
  });
  return { finish: () => finish(), response };
}

describe('server lifecycle (integration): the spawned server process', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  const processes: SpawnedProcess[] = [];
  const start = (env: Record<string, string>): SpawnedProcess => {
    const p = SpawnedProcess.start('main', env);
    processes.push(p);
    return p;
  };

  before(async () => {
    database = await createTestDatabase('lifecycle');
    const migrator = createKnex(testConfig({ DATABASE_URL: database.url }), { applicationName: 'carebox-test', logger: silent });
    await migrator.migrate.latest();
    await migrator.destroy();
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
  });
  after(async () => {
    await database?.drop();
  });

  it('on SIGTERM finishes the request in flight, then every worker and the primary exit 0', async () => {
    const port = await freePort();
    const env = serverEnv({ DATABASE_URL: database.url, PORT: String(port), WEB_CONCURRENCY: '2', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '8000' });
    const server = start(env);
    await server.waitForLog((l) => l.msg === 'listening' && server.logs.filter((x) => x.msg === 'listening').length === 2, 20_000, 'two workers listening');

    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(ready.status).to.equal(200);
    const healthcheck = SpawnedProcess.start('healthcheck', env, ['ready']);
    expect((await healthcheck.exited).code, healthcheck.stderr).to.equal(0);

    // A request is mid-upload when SIGTERM arrives. (Bodies are read only by routes that take one,
    // up to their limit: the public sign-in route reads up to 4 KiB.)
    const upload = slowUpload(port, '/api/v1/auth/login', 3 * 1024);
    await new Promise((r) => setTimeout(r, 300));
    server.signal('SIGTERM');
    await server.waitForLog((l) => l.msg === 'shutting down: draining requests', 5_000, 'a worker to start draining');
    await new Promise((r) => setTimeout(r, 500));
    expect(server.child.exitCode, 'still draining while the request is in flight').to.equal(null);
    upload.finish();

    const res = await upload.response;
    // The request was read and answered in full (the body is no sign-in, so the answer is a 400 JSON).
    expect(res.status).to.equal(400);
    expect(JSON.parse(res.body).error.code).to.equal('VALIDATION_FAILED');

    expect(await server.exited, server.describe()).to.deep.equal({ code: 0, signal: null });
    const workerExits = server.logs.filter((l) => l.msg === 'web worker exited');
    expect(workerExits.map((l) => l.code)).to.deep.equal([0, 0]);
    expect(server.logs.filter((l) => l.msg === 'shutdown complete').every((l) => l.drained === true)).to.equal(true);
    expect(server.logs.find((l) => l.msg === 'all web workers exited')).to.include({ clean: true });

    const down = SpawnedProcess.start('healthcheck', env, ['ready']);
    expect((await down.exited).code).to.equal(1);
  });

  it('replaces a crashed worker and keeps serving', async () => {
    const port = await freePort();
    const server = start(serverEnv({ DATABASE_URL: database.url, PORT: String(port), WEB_CONCURRENCY: '1', LOG_LEVEL: 'info' }));
    const first = await server.waitForLog((l) => l.msg === 'listening', 20_000, 'the worker to listen');
    const firstPid = Number(first.pid);

    process.kill(firstPid, 'SIGKILL');
    const died = await server.waitForLog((l) => l.msg === 'web worker died; restarting', 10_000, 'the primary to notice');
    expect(died).to.include({ workerPid: firstPid, signal: 'SIGKILL', consecutiveCrashes: 1, restartInMs: 500 });
    const second = await server.waitForLog((l) => l.msg === 'listening' && l.pid !== firstPid, 20_000, 'a replacement worker');
    expect(second.pid).to.not.equal(firstPid);

    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.status).to.equal(200);
    server.signal('SIGTERM');
    expect((await server.exited).code).to.equal(0);
  });

  it('refuses to start on a bad environment: names every bad variable on stderr, exits 1, no stack trace', async () => {
    const server = start({ ...serverEnv(), PORT: 'http', WEB_CONCURRENCY: '100', DB_POOL_MIN: '20', DB_POOL_MAX: '5', DATABASE_PASSWORD: '' });
    expect((await server.exited).code).to.equal(1);
    const stderr = server.stderr;
    expect(stderr).to.match(/^carebox-server: invalid configuration \(3 problems\):/);
    expect(stderr).to.include('  - PORT: must be an integer between 1 and 65535 (got "http")');
    expect(stderr).to.include('  - WEB_CONCURRENCY: must be an integer between 1 and 64 (got "100")');
    expect(stderr).to.include('  - DB_POOL_MAX: must be ≥ DB_POOL_MIN (20)');
    expect(stderr).not.to.include('    at ');
    expect(server.logs).to.have.length(0);
  });
});
