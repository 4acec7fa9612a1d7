import { expect } from 'chai';
import express from 'express';
import knex from 'knex';
import request from 'supertest';
import { z } from 'zod';
import { errorHandler, notFoundHandler } from '../../../../server/src/http/error-handler.middleware.js';
import { isKnexTimeout, isRedisRefusal, toHttpError } from '../../../../server/src/http/error-mapping.js';
import { assertFound, ConflictError, HttpError, NotFoundError, ServiceUnavailableError } from '../../../../server/src/http/http-error.js';

const OPTIONS = { bodyLimitBytes: 2048 };

/** An error shaped like the ones pg and Node's net module raise. */
function codedError(message: string, code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code }, extra);
}

describe('server http: toHttpError', () => {
  it('maps Redis refusing writes (an ioredis ReplyError: MISCONF, OOM, READONLY) to 503 STORE_REFUSES_WRITES, Retry-After 30', () => {
    const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });
    for (const m of [
      "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
      "OOM command not allowed when used memory > 'maxmemory'.",
      "READONLY You can't write against a read only replica.",
    ]) {
      const e = toHttpError(reply(m), { bodyLimitBytes: 1024 });
      expect(e.status, m).to.equal(503);
      expect(e.code, m).to.equal('STORE_REFUSES_WRITES');
      expect(e.retryAfterSeconds).to.equal(30);
    }
    expect(isRedisRefusal(reply('ERR wrong number of arguments'))).to.equal(false);
    expect(isRedisRefusal(new Error('MISCONF but not a reply'))).to.equal(false);
    expect(toHttpError(reply('ERR unknown command'), { bodyLimitBytes: 1024 }).status).to.equal(500);
  });

  it('passes HttpErrors through unchanged', () => {
    const err = new ConflictError('slot taken', 'DOUBLE_BOOKING');
    expect(toHttpError(err, OPTIONS)).to.equal(err);
  });

  it('maps a knex pool acquire timeout to 503 DATABASE_BUSY with Retry-After', () => {
    const mapped = toHttpError(new knex.KnexTimeoutError('Knex: Timeout acquiring a connection.'), OPTIONS);
    expect(mapped).to.be.instanceOf(ServiceUnavailableError);
    expect(mapped.status).to.equal(503);
    expect(mapped.code).to.equal('DATABASE_BUSY');
    expect(mapped.retryAfterSeconds).to.equal(1);
  });

  it('recognises KnexTimeoutError by name too (another knex copy)', () => {
    const foreign = new Error('timeout');
    foreign.name = 'KnexTimeoutError';
    expect(isKnexTimeout(foreign)).to.equal(true);
    expect(isKnexTimeout(new Error('timeout'))).to.equal(false);
  });

  const unavailable: Array<[string, string]> = [
    ['too many clients already', '53300'],
    ['the database system is starting up', '57P03'],
    ['terminating connection due to administrator command', '57P01'],
    ['connection failure', '08006'],
    ['connect ECONNREFUSED 10.0.0.5:5432', 'ECONNREFUSED'],
    ['getaddrinfo ENOTFOUND postgres', 'ENOTFOUND'],
  ];
  for (const [message, code] of unavailable) {
    it(`maps ${code} (${message}) to 503 DEPENDENCY_UNAVAILABLE`, () => {
      const mapped = toHttpError(codedError(message, code), OPTIONS);
      expect(mapped.status).to.equal(503);
      expect(mapped.code).to.equal('DEPENDENCY_UNAVAILABLE');
      expect(mapped.retryAfterSeconds).to.equal(5);
      expect(mapped.message).not.to.include(message);
    });
  }

  it('maps a statement timeout to 503 QUERY_TIMEOUT and a deadlock to 503 TRANSACTION_CONFLICT', () => {
    expect(toHttpError(codedError('canceling statement due to statement timeout', '57014'), OPTIONS).code).to.equal('QUERY_TIMEOUT');
    const deadlock = toHttpError(codedError('deadlock detected', '40P01'), OPTIONS);
    expect([deadlock.status, deadlock.code, deadlock.retryAfterSeconds]).to.deep.equal([503, 'TRANSACTION_CONFLICT', 1]);
  });

  it('maps a unique violation to 409 naming the constraint but never the values', () => {
    const pgError = codedError('duplicate key value violates unique constraint "patients_mrn_unique"', '23505', {
      constraint: 'patients_mrn_unique',
      detail: 'Key (mrn)=(MRN-0042) already exists.',
    });
    const mapped = toHttpError(pgError, OPTIONS);
    expect(mapped.status).to.equal(409);
    expect(mapped.message).to.include('patients_mrn_unique');
    expect(JSON.stringify(mapped.toJSON())).not.to.include('MRN-0042');
  });

  it('maps an exclusion violation to 409, a foreign key violation to 422 and a check violation to 422, naming the constraint', () => {
    const exclusion = toHttpError(
      codedError('conflicting key value', '23P01', { constraint: 'appointments_no_double_booking', detail: 'Key (clinician_id)=(x)' }),
      OPTIONS,
    );
    expect([exclusion.status, exclusion.code]).to.deep.equal([409, 'CONFLICT']);
    expect(exclusion.message).to.include('appointments_no_double_booking');
    const fk = toHttpError(codedError('violates foreign key', '23503', { constraint: 'appointments_patient_id_foreign' }), OPTIONS);
    expect([fk.status, fk.code]).to.deep.equal([422, 'REFERENCE_NOT_FOUND']);
    const check = toHttpError(codedError('violates check', '23514', { constraint: 'patients_mrn_not_blank' }), OPTIONS);
    expect([check.status, check.code]).to.deep.equal([422, 'CONSTRAINT_VIOLATED']);
  });

  it('maps a PostgreSQL data exception to 400 INVALID_VALUE without echoing the value', () => {
    const mapped = toHttpError(codedError('invalid input syntax for type date: "1815-13-45"', '22007'), OPTIONS);
    expect([mapped.status, mapped.code]).to.deep.equal([400, 'INVALID_VALUE']);
    expect(JSON.stringify(mapped.toJSON())).not.to.include('1815');
  });

  it('keeps the 4xx status of an HTTP-stack error (a malformed path segment) without its message unless exposed', () => {
    const decode = Object.assign(new URIError("Failed to decode param '%E0%A4%A'"), { status: 400 });
    const mapped = toHttpError(decode, OPTIONS);
    expect([mapped.status, mapped.message]).to.deep.equal([400, 'malformed request']);
    const exposed = toHttpError(Object.assign(new Error('unsupported charset "LATIN1"'), { status: 415, expose: true, type: 'charset.unsupported' }), OPTIONS);
    expect([exposed.status, exposed.code, exposed.message]).to.deep.equal([415, 'CHARSET_UNSUPPORTED', 'unsupported charset "LATIN1"']);
  });

  it('names each unknown field of a strict object by its own path', () => {
    const result = z.strictObject({ a: z.object({ b: z.string() }).strict() }).safeParse({ a: { b: 'x', c: 1 }, d: 2 });
    const mapped = toHttpError(result.error, OPTIONS) as unknown as { fields: Array<{ path: string; message: string }> };
    expect(mapped.fields.map((f) => f.path).sort()).to.deep.equal(['a.c', 'd']);
    expect(mapped.fields[0]!.message).to.equal('is not a known field');
  });

  it('maps a ZodError to 400 VALIDATION_FAILED with one entry per field', () => {
    const schema = z.object({ mrn: z.string().min(1), birthDate: z.iso.date() });
    const result = schema.safeParse({ mrn: '', birthDate: 'yesterday' });
    expect(result.success).to.equal(false);
    const mapped = toHttpError(result.error, OPTIONS);
    expect(mapped.status).to.equal(400);
    const body = mapped.toJSON();
    expect(body.error.code).to.equal('VALIDATION_FAILED');
    expect(body.error.fields?.map((f) => f.path)).to.deep.equal(['mrn', 'birthDate']);
  });

  it('maps anything else to a 500 that hides the original message', () => {
    const mapped = toHttpError(new TypeError('cannot read properties of undefined (reading "secretColumn")'), OPTIONS);
    expect(mapped.status).to.equal(500);
    expect(mapped.code).to.equal('INTERNAL');
    expect(mapped.message).to.equal('internal server error');
    expect(toHttpError('a string was thrown', OPTIONS).status).to.equal(500);
  });
});

describe('server http: errorHandler middleware', () => {
  const app = express();
  app.use(express.json({ limit: OPTIONS.bodyLimitBytes }));
  app.post('/echo', (req, res) => {
    res.json({ received: Object.keys(req.body as object).length });
  });
  app.get('/busy', () => {
    throw new knex.KnexTimeoutError('Knex: Timeout acquiring a connection. The pool is probably full.');
  });
  app.get('/missing', () => {
    const found: string | undefined = undefined;
    assertFound(found, 'patient');
  });
  app.get('/boom', async () => {
    throw new Error('database password is hunter2');
  });
  app.use(notFoundHandler);
  app.use(errorHandler(OPTIONS));

  it('answers a body over BODY_LIMIT_BYTES with 413', async () => {
    const res = await request(app)
      .post('/echo')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ blob: 'x'.repeat(4096) }));
    expect(res.status).to.equal(413);
    expect(res.body.error).to.include({ code: 'PAYLOAD_TOO_LARGE', message: 'request body exceeds 2048 bytes' });
    expect(res.body.error.hint).to.match(/BODY_LIMIT_BYTES/);
  });

  it('answers invalid JSON with 400 INVALID_JSON', async () => {
    const res = await request(app).post('/echo').set('Content-Type', 'application/json').send('{"mrn": ');
    expect(res.status).to.equal(400);
    expect(res.body.error.code).to.equal('INVALID_JSON');
  });

  it('accepts a body within the limit', async () => {
    const res = await request(app).post('/echo').send({ a: 1, b: 2 });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ received: 2 });
  });

  it('answers a pool timeout with 503 and Retry-After', async () => {
    const res = await request(app).get('/busy');
    expect(res.status).to.equal(503);
    expect(res.headers['retry-after']).to.equal('1');
    expect(res.body.error.code).to.equal('DATABASE_BUSY');
  });

  it('answers assertFound with 404', async () => {
    const res = await request(app).get('/missing');
    expect(res.status).to.equal(404);
    expect(res.body.error).to.include({ code: 'NOT_FOUND', message: 'patient not found' });
  });

  it('answers unknown routes with 404 JSON', async () => {
    const res = await request(app).delete('/nowhere');
    expect(res.status).to.equal(404);
    expect(res.type).to.equal('application/json');
    expect(res.body.error.code).to.equal('NOT_FOUND');
    expect(res.body.error.message).to.equal('no route for DELETE /nowhere');
  });

  it('answers an unexpected rejection with 500 and no internals', async () => {
    const res = await request(app).get('/boom');
    expect(res.status).to.equal(500);
    expect(res.body).to.deep.equal({
      error: { code: 'INTERNAL', message: 'internal server error', hint: 'Report the X-Request-Id of this response to the operator.' },
    });
    expect(res.text).not.to.include('hunter2');
  });

  it('keeps the HttpError contract: status, code, hint', () => {
    const err = new NotFoundError('no such appointment', { hint: 'check the id' });
    expect(err).to.be.instanceOf(HttpError);
    expect(err.toJSON()).to.deep.equal({ error: { code: 'NOT_FOUND', message: 'no such appointment', hint: 'check the id' } });
  });
});
