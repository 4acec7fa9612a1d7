import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OperationError } from '../../../installer/errors.js';
import { holdsStackLock, LOCK_FILE, withStackLock } from '../../../installer/runtime/stack.lock.js';

describe('runtime/stack.lock: the operation lock is taken once per call chain', () => {
  let root: string;
  let other: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'carebox-lock-'));
    other = await mkdtemp(join(tmpdir(), 'carebox-lock-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(other, { recursive: true, force: true });
  });

  it('an operation run by another (upgrade → backup → restore) runs under the lock its caller holds; the file goes when the outermost ends', async () => {
    const seen: string[] = [];
    const out = await withStackLock(root, 'upgrade', async () => {
      seen.push(`outer holds: ${holdsStackLock(root)}`);
      const inner = await withStackLock(root, 'backup', async () => {
        seen.push(`inner holds: ${holdsStackLock(root)}`);
        return withStackLock(root, 'restore', async () => 'restored');
      });
      expect(existsSync(join(root, LOCK_FILE)), 'the inner end does not release the outer lock').to.equal(true);
      return inner;
    });
    expect(out).to.equal('restored');
    expect(seen).to.deep.equal(['outer holds: true', 'inner holds: true']);
    expect(existsSync(join(root, LOCK_FILE))).to.equal(false);
    expect(holdsStackLock(root)).to.equal(false);
  });

  it('another call chain in the same process (the dashboard beside a running scale) is refused, naming the holder', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const running = withStackLock(root, 'scale backend=3', () => gate);
    await new Promise((r) => setTimeout(r, 20));
    let err: unknown = null;
    try {
      await withStackLock(root, 'restart backend', async () => 'never');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(OperationError);
    expect((err as Error).message).to.match(/scale backend=3/);
    release();
    await running;
    expect(await withStackLock(root, 'restart backend', async () => 'now')).to.equal('now');
  });

  it('holding one root does not hold another; the lock is released when the operation throws', async () => {
    await withStackLock(root, 'a', async () => {
      expect(holdsStackLock(other)).to.equal(false);
      await withStackLock(other, 'b', async () => {
        expect(holdsStackLock(root) && holdsStackLock(other)).to.equal(true);
      });
    });
    let threw = false;
    try {
      await withStackLock(root, 'fails', async () => {
        throw new Error('boom');
      });
    } catch {
      threw = true;
    }
    expect(threw).to.equal(true);
    expect(existsSync(join(root, LOCK_FILE))).to.equal(false);
  });
});

describe('runtime/stack.lock: a lock left by an earlier life of this pid', () => {
  it('is taken over (the scheduler is pid 1 of its container again after a restart), while a live holder in this process is not', async () => {
    const { writeFile, readFile } = await import('node:fs/promises');
    const { hostname } = await import('node:os');
    const root = await mkdtemp(join(tmpdir(), 'carebox-lock-'));
    try {
      await writeFile(
        join(root, LOCK_FILE),
        JSON.stringify({ pid: process.pid, host: hostname(), op: 'backup (scheduled)', startedAt: '2026-12-07T02:30:00.000Z' }),
      );
      let during = '';
      await withStackLock(root, 'backup (scheduled)', async () => {
        during = await readFile(join(root, LOCK_FILE), 'utf8');
      });
      expect(JSON.parse(during).startedAt).to.not.equal('2026-12-07T02:30:00.000Z');
      expect(existsSync(join(root, LOCK_FILE))).to.equal(false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
