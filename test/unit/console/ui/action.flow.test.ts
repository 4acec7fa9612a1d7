import { expect } from 'chai';
import { actionAvailable, runKeyAction, type ActionContext } from '../../../../console/ui/action.flow.js';
import type { Prompter } from '../../../../console/ui/prompt.store.js';
import { PromptStore } from '../../../../console/ui/prompt.store.js';
import { StepStore } from '../../../../installer/ui/step.store.js';
import { recordingActions, type RecordingActions } from './recording.actions.js';
import { container, service, stack } from './console.fixtures.js';

/** Answers questions from a script, recording each question asked. */
function scriptedPrompter(answers: unknown[]): Prompter & { asked: string[]; details: string[][] } {
  const asked: string[] = [];
  const details: string[][] = [];
  const next = () => (answers.length ? answers.shift() : null);
  return {
    asked,
    details,
    async confirm(q, o) {
      asked.push(q);
      details.push(o?.details ?? []);
      return Boolean(next());
    },
    async number(q) {
      asked.push(q);
      return next() as number | null;
    },
    async choose(q) {
      asked.push(q);
      return next() as never;
    },
  };
}

function ctx(actions: RecordingActions, prompter: Prompter, svc = 'backend'): ActionContext & { reporter: StepStore } {
  return { service: stack().services.find((s) => s.service === svc) ?? null, tier: 'default', actions, prompter, reporter: new StepStore(), logTail: 50 };
}

describe('console ui: key action flows', () => {
  it('scale: asks the count, confirms, runs the op with progress', async () => {
    const a = recordingActions();
    const p = scriptedPrompter([3, true]);
    const c = ctx(a, p);
    const o = await runKeyAction('scale', c);
    expect(o).to.deep.include({ status: 'done', message: 'scaled backend to 3' });
    expect(p.asked).to.deep.equal(['Replicas of backend (now 1)', 'Scale backend from 1 to 3 replicas?']);
    expect(p.details[0]).to.deep.equal(['backend: 1 → 3 replicas', 'DB connections after: 42 of 100']);
    expect(a.calls).to.deep.equal([
      ['previewScale', 'backend', 3],
      ['scale', 'backend', 3],
    ]);
    expect(c.reporter.getSnapshot().map((s) => [s.id, s.status])).to.deep.equal([
      ['check', 'done'],
      ['up', 'done'],
      ['nginx', 'done'],
    ]);
  });

  it('nothing runs when the confirmation is declined, the count is unchanged or the prompt is cancelled', async () => {
    for (const answers of [[3, false], [1], [null]]) {
      const a = recordingActions();
      const o = await runKeyAction('scale', ctx(a, scriptedPrompter(answers)));
      expect(o.status, JSON.stringify(answers)).to.equal('cancelled');
      expect(o.message).to.match(/nothing changed/);
      expect(a.calls.filter((c) => c[0] === 'scale')).to.deep.equal([]);
    }
  });

  it('scale refuses services that do not scale, without asking', async () => {
    const a = recordingActions();
    const p = scriptedPrompter([]);
    const o = await runKeyAction('scale', ctx(a, p, 'db'));
    expect(o).to.deep.include({ status: 'unavailable', message: 'db does not scale; scalable: backend, worker' });
    expect(p.asked).to.deep.equal([]);
  });

  it('budgets that do not fit refuse before the confirmation, with the hint; a failed step comes back failed', async () => {
    const a = recordingActions({ failScale: 'budget' });
    const p = scriptedPrompter([5, true]);
    const refused = await runKeyAction('scale', ctx(a, p));
    expect(refused.status).to.equal('failed');
    expect(refused.message).to.equal("scale backend to 5 refused: scaling backend 1 → 5 does not fit the plan's budgets on this host:");
    expect(refused.details).to.deep.equal(['✗ DB connections: 130 > 100', '✗ memory: 5 GiB > 4 GiB']);
    expect(refused.hint).to.equal('choose fewer replicas, or move to a bigger host and `carebox retier`');
    expect(p.asked).to.deep.equal(['Replicas of backend (now 1)']); // never asked to confirm
    expect(a.calls).to.deep.equal([['previewScale', 'backend', 5]]);
    const c = ctx(recordingActions({ failScale: 'op' }), scriptedPrompter([2, true]));
    const failed = await runKeyAction('scale', c);
    expect(failed.message).to.match(/backend-2 did not become healthy/);
    expect(c.reporter.getSnapshot().find((s) => s.id === 'up')?.status).to.equal('failed');
  });

  it('restart confirms (default no) and mentions one-at-a-time for several containers', async () => {
    const a = recordingActions();
    const p = scriptedPrompter([true]);
    const c = { ...ctx(a, p), service: service('backend', 2, [container('backend', 1), container('backend', 2)]) };
    const o = await runKeyAction('restart', c);
    expect(p.asked).to.deep.equal(['Restart backend (2 containers, one at a time)?']);
    expect(o).to.deep.include({ status: 'done', message: 'restarted backend' });
    expect(a.calls).to.deep.equal([['restart', 'backend']]);
  });

  it('logs confirm then return the lines for the logs view', async () => {
    const a = recordingActions();
    const o = await runKeyAction('logs', ctx(a, scriptedPrompter([true]), 'worker'));
    expect(o.logs?.service).to.equal('worker');
    expect(o.logs?.lines).to.have.length(40);
    expect(a.calls).to.deep.equal([['logs', 'worker', 50]]);
  });

  it('re-tier: choose the tier, show the preview in the confirmation, apply', async () => {
    const a = recordingActions();
    const p = scriptedPrompter(['horizontal', true]);
    const o = await runKeyAction('retier', ctx(a, p));
    expect(p.asked[0]).to.equal('Re-tier from default to');
    expect(p.details[0]).to.deep.equal(['backend replicas 1 → 2', 'compose.yml: 12 lines changed', 'nginx/nginx.conf: 3 lines changed']);
    expect(o).to.deep.include({ status: 'done', message: 're-tiered to horizontal' });
    expect(a.calls).to.deep.equal([
      ['previewRetier', 'horizontal'],
      ['retier', 'horizontal'],
    ]);
    const same = await runKeyAction('retier', ctx(recordingActions(), scriptedPrompter(['default'])));
    expect(same).to.deep.include({ status: 'cancelled', message: 'already on tier default: nothing changed' });
  });

  it('re-tier: a plan identical to the running one asks nothing more; a host that cannot run the tier refuses before the confirmation', async () => {
    const a = recordingActions();
    const p = scriptedPrompter(['optimized', 'cluster']);
    const noop = await runKeyAction('retier', ctx(a, p));
    expect(noop).to.deep.include({ status: 'cancelled', message: 'the stack already runs the plan of tier optimized: nothing to change' });
    const refused = await runKeyAction('retier', ctx(a, p));
    expect(refused).to.deep.include({
      status: 'failed',
      message: 're-tier to cluster refused: preflight failed for tier cluster:',
      hint: 'fix the failed checks and rerun',
    });
    expect(refused.details).to.deep.equal(['✗ Docker Swarm: found inactive; needs an active swarm']);
    expect(p.asked).to.deep.equal(['Re-tier from default to', 'Re-tier from default to']);
    expect(a.calls).to.deep.equal([
      ['previewRetier', 'optimized'],
      ['previewRetier', 'cluster'],
    ]);
  });

  it('a key whose op is not wired says so and asks nothing', async () => {
    const a = recordingActions({ without: ['restart'] });
    expect(actionAvailable(a, 'restart')).to.equal(false);
    expect(actionAvailable(a, 'scale')).to.equal(true);
    const p = scriptedPrompter([]);
    const o = await runKeyAction('restart', ctx(a, p));
    expect(o.status).to.equal('unavailable');
    expect(o.message).to.match(/restart is not available.*carebox restart/);
    expect(p.asked).to.deep.equal([]);
  });
});

describe('console ui: prompt store (promise-style prompts)', () => {
  it('one open question at a time; answer settles it; cancel gives false/null', async () => {
    const s = new PromptStore();
    const yes = s.confirm('Sure?', { defaultYes: true, details: ['d'] });
    const q = s.getSnapshot()!;
    expect(q).to.deep.include({ kind: 'confirm', question: 'Sure?', defaultYes: true, details: ['d'] });
    s.answer(q.id + 1, false); // stale id: ignored
    s.answer(q.id, true);
    expect(await yes).to.equal(true);
    expect(s.getSnapshot()).to.equal(null);
    const n = s.number('How many?', { initial: 50, min: 1, max: 8 });
    expect(s.getSnapshot()).to.deep.include({ kind: 'number', initial: 8 });
    const c = s.choose('Which?', [{ value: 'a', label: 'A' }]); // replaces (cancels) the open one
    expect(await n).to.equal(null);
    s.cancel();
    expect(await c).to.equal(null);
    const no = s.confirm('Again?');
    s.cancel();
    expect(await no).to.equal(false);
  });
});
