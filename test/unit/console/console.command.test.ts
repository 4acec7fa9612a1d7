import { expect } from 'chai';
import { assertInteractive, consoleActions, scalePreviewLines } from '../../../console/commands/console.command.js';
import { actionAvailable } from '../../../console/ui/action.flow.js';
import type { ScalePreview } from '../../../console/ops/scale.ops.js';
import { UsageError } from '../../../installer/errors.js';
import { buildProgram } from '../../../console/program.js';

describe('console command', () => {
  it('without a TTY (either stream) or with --json the dashboard never mounts: exit 2, pointing at status --json', () => {
    for (const io of [
      { stdinTTY: false, stdoutTTY: true, json: false },
      { stdinTTY: true, stdoutTTY: undefined, json: false },
      { stdinTTY: true, stdoutTTY: true, json: true },
    ]) {
      let err: unknown = null;
      try {
        assertInteractive(io);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(io)).to.be.instanceOf(UsageError);
      expect((err as UsageError).exitCode).to.equal(2);
      expect((err as UsageError).hint).to.include('carebox status --json');
    }
    expect(() => assertInteractive({ stdinTTY: true, stdoutTTY: true, json: false })).to.not.throw();
  });

  it('is registered with --dir, --json and --interval', () => {
    const cmd = buildProgram().commands.find((c) => c.name() === 'console')!;
    expect(cmd).to.not.equal(undefined);
    expect(cmd.options.map((o) => o.long)).to.include.members(['--dir', '--json', '--interval']);
  });

  it('wires scale, restart and logs to the ops; re-tier stays n/a until its op exists', () => {
    const a = consoleActions({ docker: null as never, dir: '/nonexistent' });
    expect(a.scalableServices).to.deep.equal(['backend', 'worker']);
    expect(actionAvailable(a, 'scale')).to.equal(true);
    expect(actionAvailable(a, 'restart')).to.equal(true);
    expect(actionAvailable(a, 'logs')).to.equal(true);
    expect(actionAvailable(a, 'retier')).to.equal(false);
  });

  it('scale preview lines: replicas, budgets after, capacity', () => {
    const p = {
      service: 'backend',
      from: 1,
      to: 3,
      check: { plan: { budget: { dbConnections: { demand: 48, limit: 100 }, memoryBytes: { demand: 3 * 1024 ** 3, limit: 6 * 1024 ** 3 } }, capacity: { concurrentUsers: [300, 600] } } },
    } as unknown as ScalePreview;
    expect(scalePreviewLines(p)).to.deep.equal([
      'backend: 1 → 3 replicas',
      'DB connections after: 48 of 100; memory: 3 GiB of 6 GiB',
      'estimated capacity after: 300–600 concurrent users',
    ]);
  });
});
