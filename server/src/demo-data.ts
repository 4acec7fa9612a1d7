/**
 * Entry of the demo-data CLI (`carebox loadtest` runs it in a backend container):
 *   node dist/server/src/demo-data.js --patients N [--tenant demo] [--clinicians C] [--appointments-per-patient K]
 *                                     [--users U --password-stdin]
 *   node dist/server/src/demo-data.js --remove (--tenant demo | --all)
 *
 * Creates (tops up to N) synthetic patients, clinicians and appointments of a tenant, or removes
 * synthetic data (of one tenant, or of every tenant with --all: never by default). Real records are never touched
 * (see demo/demo-data.generator.ts). `--users U` adds U synthetic clerk accounts that can sign in
 * (for load tests) with the password read from stdin: never from argv or the environment, which
 * `ps` and `docker inspect` show, and never logged or printed. Prints exactly ONE JSON line on stdout:
 *   {"action":"create","tenant":"demo","patients":{"requested":N,"created":n,"existing":e},
 *    "clinicians":{"created":c,"existing":x},"users":{"created":u,"existing":y},
 *    "appointments":{"created":a,"skipped":s},"durationMs":ms}
 *   {"action":"remove","tenant":"demo"|null,"removed":{"patients":p,"appointments":a,"clinicians":c,"users":u},"durationMs":ms}
 * Exit 0 on success, 1 on failure (message on stderr), 2 on a usage error (usage on stderr).
 * Logs go to stderr. Uses one database connection.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfigOrExit } from './config/load-or-exit.js';
import { createKnex } from './db/knex.factory.js';
import { LATEST_MIGRATION, MIGRATIONS_TABLE } from './db/migrations/index.js';
import { hashPassword } from './auth/password.hasher.js';
import { createDemoData, MAX_SYNTHETIC_USERS, removeDemoData, TENANT_PATTERN } from './demo/demo-data.generator.js';
import { createLogger } from './observability/logger.js';
import { shortReason } from './util/with-timeout.js';

const USAGE = `usage: demo-data.js --patients N [--tenant NAME] [--clinicians C] [--appointments-per-patient K]
                    [--users U --password-stdin]
       demo-data.js --remove (--tenant NAME | --all)
  --patients N                  synthetic patients the tenant should have (0..5000000; 0 creates nothing)
  --tenant NAME                 data set name, 1-20 of a-z 0-9 - (default: demo); its MRNs are NAME-0000001.. in capitals
  --clinicians C                synthetic clinicians, 1..200 (default: the tenant's current count, else clamp(ceil(N/250), 2, 200); none for N = 0)
  --appointments-per-patient K  appointments per new patient (0..20, default 2)
  --users U                     synthetic clerk accounts NAME-clerk-00001.. that can sign in (0..${MAX_SYNTHETIC_USERS})
  --password-stdin              their password (12..256 characters) is the first line of stdin
  --remove                      delete synthetic data only: of --tenant NAME, or of every tenant with --all
  --all                         with --remove: every synthetic data set
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
      users: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      remove: { type: 'boolean' },
      all: { type: 'boolean' },
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
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    return usage(`--${name} must be an integer between ${min} and ${max}`);
  return Number(raw);
};
const remove = values!.remove === true;
const tenant = typeof values!.tenant === 'string' ? values!.tenant : undefined;
if (tenant !== undefined && !TENANT_PATTERN.test(tenant)) usage('--tenant must be 1-20 lower-case letters, digits or "-"');
const patients = intArg('patients', 0, 5_000_000);
const clinicians = intArg('clinicians', 1, 200);
const perPatient = intArg('appointments-per-patient', 0, 20);
const users = intArg('users', 0, MAX_SYNTHETIC_USERS);
const passwordStdin = values!['password-stdin'] === true;
if (remove && (patients !== undefined || clinicians !== undefined || perPatient !== undefined || users !== undefined || passwordStdin))
  usage('--remove takes only --tenant');
if (!remove && patients === undefined) usage('--patients N (or --remove) is required');
const all = values!.all === true;
if (all && !remove) usage('--all goes with --remove');
if (remove && all && tenant !== undefined) usage('give --tenant NAME or --all, not both');
// Deleting every synthetic data set is never a default: a forgotten --tenant must not do it.
if (remove && !all && tenant === undefined) usage('--remove needs --tenant NAME (one data set) or --all (every synthetic data set)');
if ((users ?? 0) > 0 && !passwordStdin) usage('--users needs --password-stdin (the password is never taken from arguments)');
if (passwordStdin && users === undefined) usage('--password-stdin goes with --users U');

/** The first line of stdin (the synthetic accounts' password), without its line ending. */
async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

const config = loadConfigOrExit('carebox-demo-data');
const logger = createLogger({ level: config.LOG_LEVEL, role: 'demo-data', destination: pino.destination({ dest: 2, sync: true }) });
const db = createKnex(config, { applicationName: 'carebox-demo-data', logger, poolMin: 0, poolMax: 1, statementTimeoutMs: 0 });

try {
  const migrated = (await db.schema.hasTable(MIGRATIONS_TABLE)) && (await db(MIGRATIONS_TABLE).where({ name: LATEST_MIGRATION }).first('id')) !== undefined;
  if (!migrated) throw new Error('the database is not migrated; run `node dist/server/src/migrate.js` first');
  let usersPasswordHash: string | undefined;
  if (passwordStdin) {
    const password = await readPasswordFromStdin();
    if (password.length < 12 || password.length > 256) usage('the password on stdin must be 12..256 characters');
    // One hash for every account: they are interchangeable synthetic clerks.
    usersPasswordHash = await hashPassword(password);
  }
  const report = remove
    ? await removeDemoData(db, tenant ?? null)
    : await createDemoData(db, {
        patients: patients!,
        tenant: tenant ?? 'demo',
        ...(clinicians === undefined ? {} : { clinicians }),
        ...(perPatient === undefined ? {} : { appointmentsPerPatient: perPatient }),
        ...(users === undefined ? {} : { users, usersPasswordHash }),
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
