/**
 * Which migrations an upgrade will run, and whether the previous version survives them
 * (expand/contract; the server image classifies its own migrations, see
 * server/src/db/migrations/migration.safety.ts and server/src/migration-plan.ts).
 *
 * The console never imports server code: it runs `migration-plan.js` in the *new* image
 * (`docker run --rm --network none`: no database, no environment) and compares its list with the
 * names in `knex_migrations`.
 */
import { z } from 'zod';
import { exec } from '../../installer/apply/exec.js';
import { SERVER_SCRIPTS } from '../../installer/runtime/server.cli.js';
import { OperationError } from '../../installer/errors.js';
import { psqlRows } from '../../installer/runtime/psql.js';
import { serviceContainers, type Stack } from './stack.js';

const planSchema = z.object({
  migrations: z.array(z.object({ name: z.string(), phase: z.enum(['expand', 'contract']), declared: z.string().nullable(), findings: z.array(z.string()) })),
});

/** One pending migration of the new image. */
export type PendingMigration = z.infer<typeof planSchema>['migrations'][number];

/** What the upgrade is about to run. */
export interface MigrationPlan {
  /** Pending migrations, oldest first; null when the image could not classify them (an image older than this check). */
  pending: PendingMigration[] | null;
  /** Why `pending` is null. */
  unknownReason: string | null;
  /** True when every pending step is additive: a failed upgrade then rolls back the code only. */
  additive: boolean;
}

/** Pending = the image's migrations not in `applied`, in the image's order. Pure. */
export function pendingMigrations(all: PendingMigration[], applied: Iterable<string>): PendingMigration[] {
  const done = new Set(applied);
  return all.filter((m) => !done.has(m.name));
}

/** One line per contract step (or the unknown reason), for the refusal message. Pure. */
export function describeContract(plan: MigrationPlan): string {
  if (!plan.pending) return `the new server image cannot say whether its migrations are additive (${plan.unknownReason})`;
  return plan.pending
    .filter((m) => m.phase === 'contract')
    .map((m) => `${m.name}: ${m.declared ?? m.findings[0] ?? 'contract step'}`)
    .join('; ');
}

/**
 * Every migration a server image knows, in its order (its `migration-plan.js`, run with no network
 * and no environment). Never throws: `all` is null and `unknownReason` says why for an image that
 * cannot list them (older than this check).
 */
export async function imageMigrations(
  serverImage: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ all: PendingMigration[] | null; unknownReason: string | null }> {
  const r = await exec(['docker', 'run', '--rm', '--network', 'none', '--entrypoint', 'node', serverImage, SERVER_SCRIPTS.migrationPlan], {
    env,
    timeoutMs: 120_000,
    allowFailure: true,
  });
  try {
    if (r.code !== 0) throw new Error(`migration-plan.js exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ').slice(0, 200)}`);
    return { all: planSchema.parse(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '')).migrations, unknownReason: null };
  } catch (err) {
    return { all: null, unknownReason: (err as Error).message.split('\n')[0]! };
  }
}

/**
 * Classify the migrations `serverImage` would apply to this stack's database.
 * Never throws for an image that cannot classify (older Carebox): `pending` is null then.
 * @throws OperationError when the db is not running or psql fails.
 */
export async function planMigrations(stack: Stack, serverImage: string): Promise<MigrationPlan> {
  const { all, unknownReason } = await imageMigrations(serverImage, stack.env);
  if (!all) return { pending: null, unknownReason, additive: false };
  const [db] = (await serviceContainers(stack, 'db')).filter((c) => c.state === 'running');
  if (!db) throw new OperationError('db is not running');
  const applied = (await psqlRows(stack.docker, db.id, 'SELECT name FROM knex_migrations;').catch(() => [] as string[][])).map((row) => row[0]!);
  const pending = pendingMigrations(all, applied);
  return { pending, unknownReason: null, additive: pending.every((m) => m.phase === 'expand') };
}
