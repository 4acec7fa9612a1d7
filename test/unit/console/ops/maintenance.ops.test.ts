import { expect } from 'chai';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../../installer/errors.js';
import {
  formatMaintenance,
  MAINTENANCE_FILE,
  parseMaintenanceConf,
  parseMaintenanceMessage,
  readMaintenance,
  renderMaintenanceConf,
  type MaintenanceState,
} from '../../../../console/ops/maintenance.ops.js';
import { headerLine } from '../../../../console/ui/dashboard.model.js';

const state: MaintenanceState = {
  mode: 'writes',
  message: 'Upgrade until 14:30; reading works',
  retryAfterS: 30,
  since: '2026-12-07T12:00:00.000Z',
  by: 'cli',
};

describe('maintenance mode (pure parts)', () => {
  it('renders an nginx include that refuses writes with a JSON 503 + Retry-After, and reads its state back', () => {
    const conf = renderMaintenanceConf(state);
    expect(conf).to.include('if ($request_method !~ ^(GET|HEAD|OPTIONS)$) { return 418; }');
    expect(conf).to.include('add_header Retry-After 30 always;');
    const body = /return 503 '(.*)\\n';/.exec(conf)![1]!;
    expect(JSON.parse(body)).to.deep.equal({ error: { code: 'MAINTENANCE', message: state.message, retryAfterSeconds: 30, scope: 'writes' } });
    expect(parseMaintenanceConf(conf)).to.deep.equal(state);
  });

  it("--full refuses every request but nginx's own health check", () => {
    const conf = renderMaintenanceConf({ ...state, mode: 'full' });
    expect(conf).to.include('if ($uri != /nginx-health) { return 418; }');
    expect(conf).to.not.include('$request_method');
  });

  it('a message with quotes, backslashes, $ or control characters is a usage error (exit 2)', () => {
    for (const bad of ['say "hi"', "it's", 'a\\b', 'costs $5', 'two\nlines', '', 'x'.repeat(301)]) {
      expect(() => parseMaintenanceMessage(bad), JSON.stringify(bad)).to.throw(UsageError);
    }
    expect(parseMaintenanceMessage('  Back at 14:30 (ward systems) — reading works  ')).to.equal('Back at 14:30 (ward systems) — reading works');
  });

  it('reads the state from the install root: none when off, the recorded one when on', async () => {
    const root = await mkdtemp(join(tmpdir(), 'carebox-maint-'));
    try {
      expect(await readMaintenance(root)).to.equal(null);
      await mkdir(join(root, 'nginx'));
      await writeFile(join(root, MAINTENANCE_FILE), renderMaintenanceConf(state));
      expect(await readMaintenance(root)).to.deep.equal(state);
      await writeFile(join(root, MAINTENANCE_FILE), 'garbage');
      expect((await readMaintenance(root))?.message).to.match(/unreadable/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('status text and the console header show it', () => {
    expect(formatMaintenance(null)).to.match(/off/);
    expect(formatMaintenance(state)).to.match(/ON since .* writes .* answered 503, Retry-After 30 s; reads still served/);
    const status = { project: 'p', tier: 'default', url: 'http://x', healthy: true, services: [], maintenance: state };
    const line = headerLine(status, null, 120);
    expect(JSON.stringify(line)).to.include('MAINTENANCE: writes paused');
  });
});
