import { expect } from 'chai';
import { PreflightError } from '../../../installer/errors.js';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { planCarebox, planWithDefaultAlerts } from '../../../installer/plan/tier.plan.js';
import type { Intent } from '../../../installer/plan/plan.types.js';

const EMPTY_INTENT: Intent = { tier: null, users: null, usersSource: null, nodes: null };

const GiB = 1024 ** 3;

describe("plan: a new install's default alert mode", () => {
  it('runs Prometheus and Alertmanager in the stack where they fit', () => {
    const plan = planWithDefaultAlerts(hypotheticalHost(2, 8 * GiB), EMPTY_INTENT);
    expect(plan.intent.alerts).to.equal('stack');
    expect(plan.sizing.monitoring).to.not.equal(null);
  });

  it('on the 1 GiB minimum host, renders the rules only (external) and says why, instead of refusing the host', () => {
    const host = hypotheticalHost(1, 1 * GiB);
    const err = (() => {
      try {
        planCarebox(host, { ...EMPTY_INTENT, alerts: 'stack' });
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(err, 'an explicit --alerts stack is refused there').to.be.instanceOf(PreflightError);
    const plan = planWithDefaultAlerts(host, EMPTY_INTENT);
    expect(plan.intent.alerts).to.equal('external');
    expect(plan.sizing.monitoring ?? null).to.equal(null);
    expect(plan.reasons.join('\n')).to.match(/alerts external: Prometheus and Alertmanager do not fit beside the default tier on this host/);
  });
});
