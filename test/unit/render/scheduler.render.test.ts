import { expect } from 'chai';
import { parse } from 'yaml';
import { findComposeIssues } from '../../../installer/render/compose.lint.js';
import { renderCompose, LEGACY_SCHEDULER_MEMORY_BYTES } from '../../../installer/render/compose.render.js';
import { loadTemplates } from '../../../installer/render/templates.load.js';
import { installSchedule } from '../../../installer/apply/install.apply.js';
import { UsageError } from '../../../installer/errors.js';
import { IMAGES, OPTIONS, planFor } from './render.helpers.js';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import type { Plan } from '../../../installer/plan/plan.types.js';

describe('render: the scheduler service', () => {
  const template = loadTemplates().compose;

  it('is absent without a CLI image (a source install before `backup schedule`)', () => {
    const doc = parse(renderCompose(planFor('default'), IMAGES, { ...OPTIONS, installRoot: '/opt/carebox' }, template));
    expect(doc.services).to.not.have.property('scheduler');
  });

  it('runs the CLI image with the socket and the install root at the same path, hardened, limited, restarted, health-checked', () => {
    const doc = parse(
      renderCompose(planFor('default'), { ...IMAGES, scheduler: 'carebox/cli:0.1.0-abc' }, { ...OPTIONS, installRoot: '/srv/carebox' }, template),
    );
    const s = doc.services.scheduler;
    expect(s.image).to.equal('carebox/cli:0.1.0-abc');
    expect(s.command).to.deep.equal(['scheduler', 'run', '--dir', '/srv/carebox']);
    expect(s.volumes).to.deep.equal(['/var/run/docker.sock:/var/run/docker.sock', '/srv/carebox:/srv/carebox']);
    expect(s.restart).to.equal('unless-stopped');
    expect(s.network_mode).to.equal('none');
    expect(s.mem_limit).to.equal(`${LEGACY_SCHEDULER_MEMORY_BYTES / 1024 ** 2}m`);
    expect(s.read_only).to.equal(true);
    expect(s.cap_drop).to.deep.equal(['ALL']);
    expect(s.logging.options['max-size']).to.be.a('string');
    expect(s.healthcheck.test[1]).to.include('-mmin -1');
    expect(s).to.not.have.property('ports');
    expect(findComposeIssues(doc)).to.deep.equal([]);
  });

  it('install records --backup-at, else keeps the recorded schedule, else 02:30 UTC', () => {
    const now = new Date('2026-12-07T10:00:00Z');
    expect(installSchedule(null, null, now)).to.deep.equal({ cron: '30 2 * * *', timezone: 'UTC', enabled: true, since: now.toISOString() });
    const recorded = { cron: '0 4 * * *', timezone: 'Europe/Berlin', enabled: false, since: '2026-01-01T00:00:00.000Z' };
    expect(installSchedule(null, recorded, now)).to.equal(recorded);
    expect(installSchedule('23:15', recorded, now).cron).to.equal('15 23 * * *');
    expect(() => installSchedule('25:00', null, now)).to.throw(UsageError);
  });
});

describe('render: the scheduler service, sized by the plan', () => {
  const template = loadTemplates().compose;
  const scheduledPlan = (): Plan =>
    planCarebox(hypotheticalHost(4, 16 * 1024 ** 3), { tier: 'default', users: null, usersSource: null, nodes: null, backups: 'scheduled' });

  it("takes the plan's memory and CPU limits (scheduled backups are in the budget)", () => {
    const plan = scheduledPlan();
    const doc = parse(renderCompose(plan, { ...IMAGES, scheduler: 'carebox/cli:0.1.0-abc' }, { ...OPTIONS, installRoot: '/srv/carebox' }, template));
    expect(doc.services.scheduler.mem_limit).to.equal(`${plan.sizing.scheduler!.memoryBytes / 1024 ** 2}m`);
    expect(doc.services.scheduler.cpus).to.equal(plan.sizing.scheduler!.cpus);
  });

  it('is absent with manual backups (--backup-at off, or a host too small), even with a CLI image', () => {
    const plan = planCarebox(hypotheticalHost(4, 16 * 1024 ** 3), { tier: 'default', users: null, usersSource: null, nodes: null, backups: 'manual' });
    const doc = parse(renderCompose(plan, { ...IMAGES, scheduler: 'carebox/cli:0.1.0-abc' }, { ...OPTIONS, installRoot: '/srv/carebox' }, template));
    expect(doc.services).to.not.have.property('scheduler');
  });

  it('install --backup-at off keeps the recorded (or default) schedule, disabled', () => {
    const now = new Date('2026-12-07T10:00:00Z');
    expect(installSchedule('off', null, now)).to.deep.include({ cron: '30 2 * * *', enabled: false });
    const recorded = { cron: '0 4 * * *', timezone: 'UTC', enabled: true, since: '2026-01-01T00:00:00.000Z' };
    expect(installSchedule('off', recorded, now)).to.deep.equal({ ...recorded, enabled: false });
  });
});
