import { expect } from 'chai';
import { AuditBatchWriter, AuditQueueFullError, isDataError } from '../../../../server/src/audit/audit.batcher.js';
import type { AuditRow } from '../../../../server/src/audit/audit.repository.js';

const row = (action: string): AuditRow => ({
  actor_user_id: null,
  actor_username: 'u',
  actor_role: null,
  action,
  resource_type: 'patient',
  resource_id: null,
  patient_id: null,
  outcome: 'success',
  client_ip: null,
  request_id: null,
  details: null,
});

/** A repository that records each INSERT and answers it when told to. */
function fakeRepository() {
  const calls: Array<{ actions: string[]; settle: (err?: unknown) => void }> = [];
  return {
    calls,
    insertRows(rows: readonly AuditRow[]): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        calls.push({ actions: rows.map((r) => r.action), settle: (err) => (err === undefined ? resolve() : reject(err)) });
      });
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('server audit: batch writer', () => {
  it('writes the records of one event-loop turn in one INSERT, in order, and each caller waits for it', async () => {
    const repo = fakeRepository();
    const w = new AuditBatchWriter(repo);
    let done = 0;
    const writes = [w.write([row('a1'), row('a2')]), w.write([row('b')]), w.write([row('c')])].map((p) => p.then(() => (done += 1)));
    await tick();
    expect(repo.calls.map((c) => c.actions)).to.deep.equal([['a1', 'a2', 'b', 'c']]);
    expect(done, 'nobody is answered before the commit').to.equal(0);
    repo.calls[0]!.settle();
    await Promise.all(writes);
    expect(done).to.equal(3);
  });

  it('fails every caller of a batch that cannot be written: nothing is dropped or written later', async () => {
    const repo = fakeRepository();
    const w = new AuditBatchWriter(repo);
    const a = w.write([row('a')]);
    const b = w.write([row('b')]);
    await tick();
    const down = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
    repo.calls[0]!.settle(down);
    const results = await Promise.allSettled([a, b]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    expect(repo.calls).to.have.length(1);
    expect(w.waiting).to.equal(0);
  });

  it('a row the database refuses (data error) fails only its own caller: the batch is retried caller by caller', async () => {
    const repo = fakeRepository();
    const w = new AuditBatchWriter(repo);
    const good = w.write([row('good')]);
    const bad = w.write([row('bad')]);
    await tick();
    repo.calls[0]!.settle(Object.assign(new Error('invalid input syntax for type uuid'), { code: '22P02' }));
    await tick();
    expect(repo.calls.slice(1).map((c) => c.actions)).to.deep.equal([['good'], ['bad']]);
    repo.calls[1]!.settle();
    repo.calls[2]!.settle(Object.assign(new Error('invalid input syntax for type uuid'), { code: '22P02' }));
    const results = await Promise.allSettled([good, bad]);
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected']);
  });

  it('runs at most maxInFlight INSERTs; what arrives meanwhile goes in the next batch', async () => {
    const repo = fakeRepository();
    const w = new AuditBatchWriter(repo, { maxInFlight: 1 });
    const first = w.write([row('1')]);
    await tick();
    const later = [w.write([row('2')]), w.write([row('3')])];
    await tick();
    expect(repo.calls).to.have.length(1);
    expect(w.waiting).to.equal(2);
    repo.calls[0]!.settle();
    await first;
    await tick();
    await tick();
    expect(repo.calls.map((c) => c.actions)).to.deep.equal([['1'], ['2', '3']]);
    repo.calls[1]!.settle();
    await Promise.all(later);
  });

  it('splits batches at maxBatchRows and refuses at once beyond maxQueuedRows', async () => {
    const repo = fakeRepository();
    const w = new AuditBatchWriter(repo, { maxBatchRows: 2, maxInFlight: 1, maxQueuedRows: 3 });
    const ps = [w.write([row('1')]), w.write([row('2')]), w.write([row('3')])];
    await tick();
    expect(repo.calls.map((c) => c.actions)).to.deep.equal([['1', '2']]);
    let refused: unknown = null;
    await w.write([row('4'), row('5'), row('6')]).catch((e) => (refused = e));
    expect(refused).to.be.instanceOf(AuditQueueFullError);
    repo.calls[0]!.settle();
    await tick();
    await tick();
    expect(repo.calls.map((c) => c.actions)).to.deep.equal([['1', '2'], ['3']]);
    repo.calls[1]!.settle();
    await Promise.all(ps);
  });

  it('knows data errors by SQLSTATE class', () => {
    expect(isDataError({ code: '22P02' })).to.equal(true);
    expect(isDataError({ code: '23505' })).to.equal(true);
    expect(isDataError({ code: '57P01' })).to.equal(false);
    expect(isDataError(new Error('x'))).to.equal(false);
    expect(isDataError(null)).to.equal(false);
  });
});
