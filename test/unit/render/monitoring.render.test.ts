import { expect } from 'chai';
import { parse } from 'yaml';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { computeBudgets } from '../../../installer/plan/budget.check.js';
import { MONITORING_SERVICES, monitoringBytes, type AlertMode } from '../../../installer/plan/monitoring.sizing.js';
import type { Tier } from '../../../installer/plan/plan.types.js';
import { TIERS } from '../../../installer/plan/plan.types.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import { findComposeIssues } from '../../../installer/render/compose.lint.js';
import { MONITORING_FILES, parseSmtpUrl, renderAlertmanagerConfig, renderPrometheusConfig } from '../../../installer/render/monitoring.render.js';
import { renderStack } from '../../../installer/render/render.js';
import { loadTemplates } from '../../../installer/render/templates.load.js';
import { ENV, fileOf, GiB, IMAGES, OPTIONS } from './render.helpers.js';

function planWith(tier: Tier, alerts: AlertMode | undefined, cpus = 16, gib = 64) {
  return planCarebox(hypotheticalHost(cpus, gib * GiB), { tier, users: null, usersSource: null, nodes: null, ...(alerts ? { alerts } : {}) });
}

function render(
  tier: Tier,
  alerts: AlertMode | undefined,
  opts: Partial<typeof OPTIONS> & { httpsPort?: number | null; alerts?: { email: string[]; webhookUrl: string | null }; dockerRoot?: string } = {},
  env = ENV,
) {
  return renderStack({ plan: planWith(tier, alerts), env, images: IMAGES, options: { ...OPTIONS, ...opts }, templates: loadTemplates() });
}

describe('monitoring: plan and render (--alerts)', () => {
  it('--alerts stack puts every monitoring service into the memory budget and takes it from PostgreSQL, never the app', () => {
    const off = planWith('optimized', undefined);
    const on = planWith('optimized', 'stack');
    const mon = on.sizing.monitoring!;
    expect(mon).to.be.an('object');
    const items = on.budget.memoryBytes.items.map((i) => i.name);
    for (const svc of MONITORING_SERVICES) expect(items).to.include(svc);
    expect(off.sizing.postgres.limits.memoryBytes - on.sizing.postgres.limits.memoryBytes).to.be.at.least(monitoringBytes(mon) - 1024 ** 2);
    expect(on.sizing.backend).to.deep.equal(off.sizing.backend);
    expect(on.budget.memoryBytes.demand).to.be.at.most(on.budget.memoryBytes.limit);
    // postgres_exporter's connection and redis_exporter's client are counted.
    expect(on.budget.dbConnections.items.map((i) => i.name)).to.include('postgres-exporter');
    expect(on.budget.redisConnections.items.map((i) => i.name)).to.include('redis-exporter');
    expect(on.budget.dbConnections.demand).to.be.at.most(on.budget.dbConnections.limit);
    expect(computeBudgets(on.sizing, { cpus: 16, memoryLimitBytes: on.budget.memoryBytes.limit }, 1).memoryBytes.demand).to.equal(on.budget.memoryBytes.demand);
    // Thresholds and monitoring figures carry derivations.
    for (const k of ['alerts.postgresConnections', 'alerts.redisClients', 'alerts.backendReplicas', 'sizing.monitoring.limits.prometheus.memoryBytes']) {
      expect(on.derivations[k], k).to.be.a('string').and.not.equal('');
    }
  });

  it('plans without --alerts are unchanged (no monitoring key, no alert derivations)', () => {
    const p = planWith('default', undefined);
    expect(p.sizing).to.not.have.property('monitoring');
    expect(Object.keys(p.derivations).some((k) => k.startsWith('alerts.'))).to.equal(false);
  });

  for (const tier of TIERS.filter((t) => t !== 'cluster')) {
    it(`tier ${tier} with --alerts stack: compose passes the lint, every monitoring service has limits, bounded logs and no port`, () => {
      const files = render(tier, 'stack', { dockerRoot: '/var/lib/docker' });
      const doc = parse(fileOf(files, 'compose.yml')) as { services: Record<string, Record<string, any>>; volumes: Record<string, unknown> };
      expect(findComposeIssues(doc)).to.deep.equal([]);
      for (const svc of MONITORING_SERVICES) {
        const s = doc.services[svc]!;
        expect(s, svc).to.be.an('object');
        expect(s.logging.driver).to.equal('json-file');
        expect(s.logging.options['max-size']).to.match(/^\d+[kmg]$/);
        expect(s.ports ?? []).to.deep.equal([]);
        expect(s.read_only).to.equal(true);
      }
      expect(doc.services['node-exporter']!.volumes).to.include('/var/lib/docker:/host/docker:ro');
      expect(doc.volumes).to.have.property('prometheus-data');
      for (const path of Object.values(MONITORING_FILES)) fileOf(files, path);
      expect(files.find((f) => f.path === MONITORING_FILES.alertmanager)!.secret).to.equal(true);
    });
  }

  it('--alerts external renders only the rules file; off renders none of it; neither runs a monitoring service', () => {
    const ext = render('default', 'external');
    const off = render('default', 'off');
    const services = (files: typeof ext) => Object.keys((parse(fileOf(files, 'compose.yml')) as { services: object }).services);
    for (const svc of MONITORING_SERVICES) {
      expect(services(ext)).to.not.include(svc);
      expect(services(off)).to.not.include(svc);
    }
    expect(parse(fileOf(ext, MONITORING_FILES.rules)).groups[0].rules.length).to.be.greaterThan(15);
    expect(ext.map((f) => f.path)).to.not.include(MONITORING_FILES.prometheus);
    expect(off.map((f) => f.path)).to.not.include(MONITORING_FILES.rules);
  });

  it("rules carry the plan's thresholds: 80 % of max_connections minus reserved, 80 % of maxclients, the planned replicas", () => {
    const p = planWith('horizontal', 'stack');
    const rules = parse(fileOf(render('horizontal', 'stack'), MONITORING_FILES.rules)).groups[0].rules as { alert: string; expr: string }[];
    const expr = (a: string) => rules.find((r) => r.alert === a)!.expr;
    const pg = Math.floor(0.8 * (p.sizing.postgres.maxConnections - p.sizing.postgres.superuserReservedConnections));
    expect(expr('PostgresConnectionsHigh')).to.contain(`> ${pg}`);
    expect(expr('RedisClientsHigh')).to.contain(`> ${Math.floor(0.8 * p.sizing.redis.maxClients)}`);
    expect(expr('BackendReplicasMissing')).to.contain(`< ${p.sizing.backend.replicas}`);
  });

  it('prometheus.yml finds every backend replica by DNS and probes the certificate only with TLS', () => {
    const plain = parse(fileOf(render('default', 'stack'), MONITORING_FILES.prometheus));
    const tls = parse(fileOf(render('default', 'stack', { httpsPort: 18443 }), MONITORING_FILES.prometheus));
    const backend = plain.scrape_configs.find((c: { job_name: string }) => c.job_name === 'backend');
    expect(backend.dns_sd_configs[0]).to.include({ type: 'A', port: 3000 });
    expect(backend.dns_sd_configs[0].names).to.deep.equal(['backend']);
    expect(plain.scrape_configs.map((c: { job_name: string }) => c.job_name)).to.not.include('tls');
    expect(tls.scrape_configs.map((c: { job_name: string }) => c.job_name)).to.include('tls');
  });

  it('alertmanager.yml mails through SMTP_URL and calls the webhook; without SMTP_URL there is no mail', () => {
    const settings = { email: ['oncall@hospital.example'], webhookUrl: 'https://hooks.hospital.example/x' };
    const withMail = parse(
      renderAlertmanagerConfig({ settings, smtpUrl: 'smtp://relay:s3cret@mail.hospital.example:587', mailFrom: 'Carebox <cb@h.example>', project: 'p' }),
    );
    expect(withMail.global).to.include({
      smtp_smarthost: 'mail.hospital.example:587',
      smtp_auth_username: 'relay',
      smtp_auth_password: 's3cret',
      smtp_require_tls: false,
    });
    expect(withMail.receivers[0].email_configs[0].to).to.equal('oncall@hospital.example');
    expect(withMail.receivers[0].webhook_configs[0].url).to.equal(settings.webhookUrl);
    const noMail = parse(renderAlertmanagerConfig({ settings, smtpUrl: null, mailFrom: 'x', project: 'p' }));
    expect(noMail.receivers[0]).to.not.have.property('email_configs');
    expect(noMail).to.not.have.property('global');
  });

  it('parseSmtpUrl: smtps is implicit TLS on 465; garbage is no mail', () => {
    expect(parseSmtpUrl('smtps://mail.example')).to.deep.equal({ smarthost: 'mail.example:465', username: null, password: null, requireTls: true });
    expect(parseSmtpUrl('smtp://a%40b:p%3Aw@m:2525?requireTLS=true')).to.deep.equal({
      smarthost: 'm:2525',
      username: 'a@b',
      password: 'p:w',
      requireTls: true,
    });
    expect(parseSmtpUrl('http://x')).to.equal(null);
    expect(parseSmtpUrl('not a url')).to.equal(null);
    expect(parseSmtpUrl('')).to.equal(null);
  });

  it('scrapes every 15 s; only the test-only scale shortens it (to at least 2 s)', () => {
    const p = planWith('default', 'stack');
    expect(parse(renderPrometheusConfig(p, { project: 'x', tls: false })).global.scrape_interval).to.equal('15s');
    expect(parse(renderPrometheusConfig(p, { project: 'x', tls: false, forScale: 0.05 })).global.scrape_interval).to.equal('2s');
  });

  it('is deterministic: the same plan renders the same monitoring bytes', () => {
    const a = render('optimized', 'stack');
    const b = render('optimized', 'stack');
    for (const p of Object.values(MONITORING_FILES)) expect(fileOf(a, p)).to.equal(fileOf(b, p));
  });

  it('small hosts still plan with --alerts stack (1 CPU / 2 GiB default tier)', () => {
    const p = planCarebox(hypotheticalHost(1, 2 * GiB), { tier: 'default', users: null, usersSource: null, nodes: null, alerts: 'stack' });
    expect(p.sizing.monitoring).to.be.an('object');
  });
});
