/**
 * Entry of the demo-data CLI (the `carebox demo-data` verb runs it in a backend container):
 *   node dist/server/src/demo-data.js --patients N [--tenant demo] [--clinicians C] [--appointments-per-patient K]
 *   node dist/server/src/demo-data.js --remove [--tenant demo]
 *
 * Creates (tops up to N) synthetic patients, clinicians and appointments of a tenant, or removes
 * synthetic data (of one tenant, or all of it without --tenant). Real records are never touched
 * (see demo/demo-data.generator.ts). Prints exactly ONE JSON line on stdout:
 *   {"action":"create","tenant":"demo","patients":{"requested":N,"created":n,"existing":e},
 *    "clinicians":{"created":c,"existing":x},"appointments":{"created":a,"skipped":s},"durationMs":ms}
 *   {"action":"remove","tenant":"demo"|null,"removed":{"patients":p,"appointments":a,"clinicians":c},"durationMs":ms}
 * Exit 0 on success, 1 on failure (message on stderr), 2 on a usage error (usage on stderr).
 * Logs go to stderr. Uses one database connection.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfigOrExit } from './config/load-or-exit.js';
import { createKnex } from './db/knex.factory.js';
import { LATEST_MIGRATION, MIGRATIONS_TABLE } from './db/migrations/index.js';
import { createDemoData, removeDemoData, TENANT_PATTERN } from './demo/demo-data.generator.js';
import { createLogger } from './observability/logger.js';
import { shortReason } from './util/with-timeout.js';

const USAGE = `usage: demo-data.js --patients N [--tenant NAME] [--clinicians C] [--appointments-per-patient K]
       demo-data.js --remove [--tenant NAME]
  --patients N                  synthetic patients the tenant should have (0..5000000)
  --tenant NAME                 data set name, 1-20 of a-z 0-9 - (default: demo; with --remove: all tenants)
  --clinicians C                synthetic clinicians (default: clamp(ceil(N/250), 2, 200))
  --appointments-per-patient K  appointments per new patient (0..20, default 2)
  --remove                      delete synthetic data only
`;

const usage = (problem: string): never => {
  process.stderr.write(`carebox-demo-data: ${problem}\n${USAGE}`);
  process.exit(2);
};

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      patients: { type: 'string' },
      tenant: { type: 'string' },
      clinicians: { type: 'string' },
      'appointments-per-patient': { type: 'string' },
      remove: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  }));
} catch (err) {
  usage(err instanceof Error ? err.message : String(err));
}
if (values!.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const intArg = (name: string, min: number, max: number): number | undefined => {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) return usage(`--${name} must be an integer between ${min} and ${max}`);
  return Number(raw);
};
const remove = values!.remove === true;
const tenant = typeof values!.tenant === 'string' ? values!.tenant : undefined;
if (tenant !== undefined && !TENANT_PATTERN.test(tenant)) usage('--tenant must be 1-20 lower-case letters, digits or "-"');
const patients = intArg('patients', 0, 5_000_000);
const clinicians = intArg('clinicians', 1, 1_000);
const perPatient = intArg('appointments-per-patient', 0, 20);
if (remove && (patients !== undefined || clinicians !== undefined || perPatient !== undefined)) usage('--remove takes only --tenant');
if (!remove && patients === undefined) usage('--patients N (or --remove) is required');

const config = loadConfigOrExit('carebox-demo-data');
const logger = createLogger({ level: config.LOG_LEVEL, role: 'demo-data', destination: pino.destination({ dest: 2, sync: true }) });
const db = createKnex(config, { applicationName: 'carebox-demo-data', logger, poolMin: 0, poolMax: 1, statementTimeoutMs: 0 });

try {
  const migrated = (await db.schema.hasTable(MIGRATIONS_TABLE)) && (await db(MIGRATIONS_TABLE).where({ name: LATEST_MIGRATION }).first('id')) !== undefined;
  if (!migrated) throw new Error('the database is not migrated; run `node dist/server/src/migrate.js` first');
  const report = remove
    ? await removeDemoData(db, tenant ?? null)
    : await createDemoData(db, {
        patients: patients!,
        tenant: tenant ?? 'demo',
        ...(clinicians === undefined ? {} : { clinicians }),
        ...(perPatient === undefined ? {} : { appointmentsPerPatient: perPatient }),
      });
  logger.info({ action: report.action, durationMs: report.durationMs }, 'demo data done');
  await db.destroy();
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
} catch (err) {
  logger.error({ err }, 'demo-data failed');
  process.stderr.write(`carebox-demo-data: ${shortReason(err)}\n`);
  await db.destroy().catch(() => undefined);
  process.exit(1);
}
