import { expect } from 'chai';
import { assertInteractive, consoleActions, retierPreviewLines, scalePreviewLines } from '../../../console/commands/console.command.js';
import type { RetierPreview } from '../../../console/ops/retier.ops.js';
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

  it('is registered with --dir, --json and --interval', async () => {
    const cmd = (await buildProgram()).commands.find((c) => c.name() === 'console')!;
    expect(cmd).to.not.equal(undefined);
    expect(cmd.options.map((o) => o.long)).to.include.members(['--dir', '--json', '--interval']);
  });

  it('wires scale, restart, logs and re-tier to the ops', () => {
    const a = consoleActions({ docker: null as never, dir: '/nonexistent' });
    expect(a.scalableServices).to.deep.equal(['backend', 'worker']);
    expect(actionAvailable(a, 'scale')).to.equal(true);
    expect(actionAvailable(a, 'restart')).to.equal(true);
    expect(actionAvailable(a, 'logs')).to.equal(true);
    expect(actionAvailable(a, 'retier')).to.equal(true);
    expect(typeof a.previewScale).to.equal('function');
    expect(typeof a.previewRetier).to.equal('function');
  });

  it('scale preview lines: replicas, budgets after, capacity', () => {
    const p = {
      service: 'backend',
      from: 1,
      to: 3,
      check: {
        plan: {
          budget: { dbConnections: { demand: 48, limit: 100 }, memoryBytes: { demand: 3 * 1024 ** 3, limit: 6 * 1024 ** 3 } },
          capacity: { concurrentUsers: [300, 600] },
        },
      },
    } as unknown as ScalePreview;
    expect(scalePreviewLines(p)).to.deep.equal([
      'backend: 1 → 3 replicas',
      'DB connections after: 48 of 100; memory: 3 GiB of 6 GiB',
      'estimated capacity after: 300–600 active staff',
    ]);
  });

  it('re-tier preview lines: tier and reason, capacity, changing services, counts', () => {
    const p = {
      from: 'default',
      to: 'horizontal',
      noop: false,
      plan: { reasons: ['asked for with --tier horizontal'], capacity: { concurrentUsers: [800, 1500] } },
      actions: [
        { service: 'backend', action: 'roll', detail: '2 new replicas healthy before the old one stops' },
        { service: 'redis', action: 'none', detail: 'unchanged' },
        { service: 'nginx', action: 'reload', detail: 'upstream unchanged; nginx -t then reload' },
      ],
      sizing: [{ path: 'backend.replicas', before: 1, after: 2, text: '1 → 2' }],
      fileDiffs: [
        { path: 'compose.yml', status: 'updated', diff: '…' },
        { path: '.env', status: 'unchanged', diff: '' },
      ],
    } as unknown as RetierPreview;
    expect(retierPreviewLines(p)).to.deep.equal([
      'default → horizontal: asked for with --tier horizontal',
      'estimated capacity after: 800–1500 active staff',
      'backend: roll — 2 new replicas healthy before the old one stops',
      'nginx: reload — upstream unchanged; nginx -t then reload',
      '1 sizing value and 1 file change; `carebox retier horizontal --dry-run` shows every diff',
    ]);
  });
});
