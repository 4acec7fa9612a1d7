import { expect } from 'chai';
import { alertLines, lineText } from '../../../console/ui/dashboard.model.js';
import { formatAlerts, silenceDurationMs } from '../../../console/commands/alerts.command.js';
import { alertEmailFlag, alertModeFlag, alertWebhookFlag, alertForScaleFrom } from '../../../installer/commands/alert.flags.js';
import { UsageError } from '../../../installer/errors.js';
import type { FiringAlert } from '../../../console/ops/alerts.ops.js';

const alert = (name: string, severity: string, summary = `${name} summary`): FiringAlert => ({
  name,
  severity,
  summary,
  description: '',
  startsAt: '2026-12-07T10:00:00.000Z',
  state: 'active',
  labels: {},
});

describe('firing alerts at the top of the console', () => {
  it('nothing when none fire or the stack runs no Alertmanager', () => {
    expect(alertLines([], null, 80)).to.deep.equal([]);
    expect(alertLines(null, null, 80)).to.deep.equal([]);
  });
  it('one line each, critical in the bad tone, cut to the width; past the maximum a line says how many more', () => {
    const lines = alertLines([alert('RedisDown', 'critical'), alert('DiskSpaceLow', 'warning'), alert('A', 'warning'), alert('B', 'warning')], null, 40, 3);
    expect(lines).to.have.length(3);
    expect(lineText(lines[0]!)).to.match(/^ALERT CRITICAL RedisDown/);
    expect(lines[0]![0]!.tone).to.equal('bad');
    expect(lineText(lines[2]!)).to.contain('2 more firing');
    for (const l of lines) expect([...lineText(l)].length).to.be.at.most(40);
  });
  it('a failed read says so', () => {
    expect(lineText(alertLines(null, 'Alertmanager did not answer', 80)[0]!)).to.contain('cannot read Alertmanager');
  });
});

describe('carebox alerts: output and flags', () => {
  it('formatAlerts lists severity, name, start and summary; says when nothing fires', () => {
    expect(formatAlerts([])).to.equal('No alerts are firing.');
    expect(formatAlerts([alert('RedisDown', 'critical', 'Redis is down')])).to.match(/^CRITICAL +RedisDown +since 2026-12-07T10:00:00Z +Redis is down$/);
  });
  it('silence durations: minutes, hours, days within 1 minute..30 days', () => {
    expect(silenceDurationMs('30m')).to.equal(1_800_000);
    expect(silenceDurationMs('4h')).to.equal(14_400_000);
    expect(silenceDurationMs('2d')).to.equal(172_800_000);
    for (const bad of ['0m', '31d', '4', 'h', '1w', '']) expect(() => silenceDurationMs(bad), bad).to.throw(UsageError);
  });
  it('--alerts, --alert-email, --alert-webhook and the test-only scale reject bad input with a usage error', () => {
    expect(alertModeFlag(undefined)).to.equal(null);
    expect(alertModeFlag('external')).to.equal('external');
    expect(() => alertModeFlag('yes')).to.throw(UsageError);
    expect(alertEmailFlag(['a@h.example,b@h.example', 'a@h.example'])).to.deep.equal(['a@h.example', 'b@h.example']);
    expect(alertEmailFlag(['none'])).to.deep.equal([]);
    expect(() => alertEmailFlag(['not-an-address'])).to.throw(UsageError);
    expect(alertWebhookFlag('https://hooks.h.example/x')).to.equal('https://hooks.h.example/x');
    expect(alertWebhookFlag('none')).to.equal('');
    expect(() => alertWebhookFlag('ftp://x')).to.throw(UsageError);
    expect(alertForScaleFrom({})).to.equal(null);
    expect(alertForScaleFrom({ CAREBOX_TEST_ALERT_FOR_SCALE: '0.05' })).to.equal(0.05);
    expect(() => alertForScaleFrom({ CAREBOX_TEST_ALERT_FOR_SCALE: '2' })).to.throw(UsageError);
  });
});
