import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyChange, writeSummary, type ChangeTarget } from '../../../installer/apply/change.apply.js';
import type { Rollout } from '../../../installer/apply/rollout.js';
import { observedNothing, runAction } from '../../../installer/apply/rollout.js';
import type { StepReporter } from '../../../installer/apply/steps.js';
import { utcStamp } from '../../../installer/apply/fs.atomic.js';
import { UnhealthyError } from '../../../installer/errors.js';
import type { Manifest } from '../../../installer/manifest/manifest.js';
import type { Plan } from '../../../installer/plan/plan.types.js';
import type { RenderedFile } from '../../../installer/render/render.js';
import { FakeRuntime, task } from './fake.runtime.js';

// applyChange runs against FakeRuntime (fake.runtime.ts): an in-memory engine that can fail any
// call on demand, so every failure point of the transaction is exercised here; the real engine is
// proven by the e2e suite (scale, retier, restart).

const plan = { tier: 'default' } as unknown as Plan;
const file = (path: string, content: string): RenderedFile => ({ path, content, mode: 0o644, secret: false });

function recorder(): { reporter: StepReporter; steps: string[] } {
  const steps: string[] = [];
  return {
    steps,
    reporter: {
      start: (id) => steps.push(`start ${id}`),
      progress: () => undefined,
      succeed: (id) => steps.push(`ok ${id}`),
      fail: (id) => steps.push(`fail ${id}`),
      skip: (id) => steps.push(`skip ${id}`),
    },
  };
}

/** A scale-like rollout: two steps that change tasks, a restore action and an after-step. */
const rollout: Rollout = {
  steps: [
    { id: 'first', title: 'Scale worker 1 → 2', action: { kind: 'scale-up', service: 'worker', replicas: 2, removeFirst: [] } },
    { id: 'second', title: 'Restart backend', action: { kind: 'restart', service: 'backend' } },
  ],
  restore: [{ kind: 'reload-nginx' }],
  after: [{ id: 'config', title: 'Apply configuration', action: { kind: 'live-config' } }],
};

describe('applyChange: one transaction for a change to a running stack (fake runtime)', () => {
  let root: string;
  let target: ChangeTarget;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'carebox-change-'));
    await mkdir(join(root, 'nginx'));
    await writeFile(join(root, 'compose.yml'), 'old compose\n');
    await writeFile(join(root, 'nginx', 'nginx.conf'), 'old nginx\n');
    await writeFile(join(root, 'carebox.json'), '{"old":true}\n');
    target = {
      op: 'test change',
      plan,
      files: [file('compose.yml', 'new compose\n'), file('nginx/nginx.conf', 'new nginx\n'), file('redis/redis.conf', 'new redis\n')],
      record: { title: 'Record', manifest: (_f, now) => ({ recorded: now }) as unknown as Manifest },
      timeoutMs: 1000,
    };
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const onDisk = (p: string) => readFile(join(root, p), 'utf8');

  it('writes the files with backups, runs the rollout and the after-steps, then records the manifest', async () => {
    const rt = new FakeRuntime(root, [task('worker', 1), task('backend', 1)]);
    const { reporter, steps } = recorder();
    const r = await applyChange(rt, target, rollout, reporter);
    expect(steps).to.deep.equal([
      'start write',
      'ok write',
      'start first',
      'ok first',
      'start second',
      'ok second',
      'start config',
      'ok config',
      'start manifest',
      'ok manifest',
    ]);
    expect(await onDisk('compose.yml')).to.equal('new compose\n');
    expect(r.changes.map((c) => c.status)).to.deep.equal(['updated', 'updated', 'created']);
    const backup = r.changes[0]!.backup!;
    expect(await onDisk(backup)).to.equal('old compose\n');
    expect(JSON.parse(await onDisk('carebox.json'))).to.have.key('recorded');
    expect(r.outcomes.first!.summary).to.equal('1 container(s) added; 2 healthy');
    expect(r.outcomes.second!.summary).to.match(/^1 container\(s\) restarted and healthy$/);
    expect(rt.calls[0]).to.equal('withLock test change');
    expect(rt.calls).to.include('applyLiveConfig');
    expect(rt.calls).to.not.include('reloadNginx'); // restore runs only on failure
  });

  for (const [where, method, at] of [
    ['the first rollout step (scale: compose up)', 'scale', 1],
    ['the first rollout step (health wait of the new task)', 'waitHealthy', 1],
    ['the second rollout step', 'restartTasks', 1],
  ] as const) {
    it(`a failure in ${where} puts every file back, runs the restore, records nothing and rethrows`, async () => {
      const rt = new FakeRuntime(root, [task('worker', 1), task('backend', 1)]).failOn(method, at);
      const { reporter, steps } = recorder();
      let err: unknown;
      await applyChange(rt, target, rollout, reporter).catch((e: unknown) => {
        err = e;
      });
      expect(err).to.be.instanceOf(UnhealthyError);
      expect(await onDisk('compose.yml')).to.equal('old compose\n');
      expect(await onDisk('nginx/nginx.conf')).to.equal('old nginx\n');
      expect(await onDisk('carebox.json')).to.equal('{"old":true}\n');
      expect(rt.calls).to.include('reloadNginx');
      expect(rt.calls).to.not.include('applyLiveConfig');
      expect(steps).to.not.include('start manifest');
      expect(steps.filter((s) => s.startsWith('fail'))).to.have.length(1);
      // A failed scale-up leaves only the tasks that ran before it.
      if (method !== 'restartTasks') expect((await rt.tasks('worker')).map((t) => t.id)).to.deep.equal(['worker-1']);
    });
  }

  it('a failure while writing puts back what was already written', async () => {
    // compose.yml is written first (its backup goes to backups/config-<stamp>/compose.yml); the
    // backup of nginx.conf cannot be written (a regular file stands where its folder would go), so
    // the write step fails with compose.yml already replaced.
    for (let i = 0; i < 20; i++) {
      const dir = join(root, 'backups', `config-${utcStamp(new Date(Date.now() + i * 1000))}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'nginx'), 'in the way');
    }
    const rt = new FakeRuntime(root, [task('worker', 1), task('backend', 1)]);
    const { reporter, steps } = recorder();
    let err: unknown;
    await applyChange(rt, target, rollout, reporter).catch((e: unknown) => {
      err = e;
    });
    expect(err).to.be.instanceOf(Error);
    expect(steps).to.deep.equal(['start write', 'fail write']);
    expect(await onDisk('compose.yml')).to.equal('old compose\n');
    expect(await onDisk('nginx/nginx.conf')).to.equal('old nginx\n');
    expect(rt.calls.filter((c) => c.startsWith('scale'))).to.deep.equal([]);
    expect(rt.calls).to.include('reloadNginx');
  });

  it('a failure after the rollout (an after-step) keeps the new state: nothing is put back', async () => {
    const rt = new FakeRuntime(root, [task('worker', 1), task('backend', 1)]).failOn('applyLiveConfig');
    const { reporter } = recorder();
    await applyChange(rt, target, rollout, reporter).catch(() => undefined);
    expect(await onDisk('compose.yml')).to.equal('new compose\n');
    expect(rt.calls).to.not.include('reloadNginx');
    expect(await onDisk('carebox.json')).to.equal('{"old":true}\n');
  });

  it('keeps the paths the target keeps, and renders in a render step when asked', async () => {
    const rt = new FakeRuntime(root, [task('worker', 1), task('backend', 1)]).failOn('restartTasks');
    const { reporter, steps } = recorder();
    const files = target.files as RenderedFile[];
    await applyChange(rt, { ...target, keep: ['compose.yml'], files: { title: 'Render', render: async () => files } }, rollout, reporter).catch(
      () => undefined,
    );
    expect(steps.slice(0, 2)).to.deep.equal(['start render', 'ok render']);
    expect(await onDisk('compose.yml')).to.equal('new compose\n');
    expect(await onDisk('nginx/nginx.conf')).to.equal('old nginx\n');
  });

  it('a change without files writes nothing and records nothing', async () => {
    const rt = new FakeRuntime(root, [task('backend', 1)]);
    const { reporter, steps } = recorder();
    const r = await applyChange(rt, { ...target, files: [], record: null }, { steps: rollout.steps.slice(1), restore: [], after: [] }, reporter);
    expect(steps).to.deep.equal(['start second', 'ok second']);
    expect(r.manifest).to.equal(null);
    expect(await onDisk('compose.yml')).to.equal('old compose\n');
    expect(
      await stat(join(root, 'backups')).then(
        () => true,
        () => false,
      ),
    ).to.equal(false);
  });

  it('summarizes the write step', () => {
    expect(writeSummary([])).to.equal('nothing changed');
    expect(
      writeSummary([
        { path: 'a', status: 'unchanged', backup: null },
        { path: 'b', status: 'updated', backup: 'x' },
      ]),
    ).to.equal('updated b');
  });
});

describe('rollout actions on the fake runtime', () => {
  const ctx = { observed: observedNothing(), timeoutMs: 1000, plan, changes: [] };

  it('scale-up removes stopped leftovers first; when the new tasks fail health they are removed and the running ones stay', async () => {
    const rt = new FakeRuntime('/nowhere', [task('backend', 1), task('backend', 2, 'exited')]).failOn('waitHealthy');
    const lines: string[] = [];
    await runAction(rt, { kind: 'scale-up', service: 'backend', replicas: 3, removeFirst: ['backend-2'] }, ctx, (m) => lines.push(m)).catch(() => undefined);
    expect(rt.calls[0]).to.equal('removeTask backend-2 0');
    expect((await rt.tasks('backend')).map((t) => t.id)).to.deep.equal(['backend-1']);
    expect(lines).to.include('removing the 2 new container(s); 1 keep serving');
  });

  it('scale-down drains each victim with the service grace, then holds the count and waits healthy', async () => {
    const rt = new FakeRuntime('/nowhere', [task('worker', 1), task('worker', 2), task('worker', 3)]);
    const o = await runAction(
      rt,
      {
        kind: 'scale-down',
        service: 'worker',
        replicas: 1,
        remove: [
          { id: 'worker-3', number: 3 },
          { id: 'worker-2', number: 2 },
        ],
      },
      ctx,
      () => undefined,
    );
    expect(rt.calls).to.deep.equal(['removeTask worker-3 7', 'removeTask worker-2 7', 'scale worker 1', 'waitHealthy 1']);
    expect(o.summary).to.equal('2 container(s) stopped and removed; 1 healthy');
  });

  it('surge rolls every task new-before-old at the same count', async () => {
    const rt = new FakeRuntime('/nowhere', [task('backend', 1)]);
    const o = await runAction(rt, { kind: 'surge', service: 'backend', target: 1 }, ctx, () => undefined);
    expect(rt.calls).to.deep.equal(['roll backend 1']);
    expect(o.summary).to.equal('replaced by a new healthy container in 1.5 s');
    expect(o.roll?.started).to.deep.equal(['backend-rolled']);
  });
});
