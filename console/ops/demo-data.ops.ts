import { DIRECT_DB_ENV, serverCommand } from '../../installer/runtime/server.cli.js';
import { OperationError } from '../../installer/errors.js';
import type { Stack } from './stack.js';

/** What `carebox demo-data` asks the server's demo-data CLI for. */
export interface DemoDataRequest {
  /** Synthetic patients the tenant should have (the CLI tops up to this). */
  patients: number | null;
  tenant: string | null;
  clinicians: number | null;
  appointmentsPerPatient: number | null;
  /** Delete synthetic data only: of `tenant`, or of every tenant when `all`. */
  remove: boolean;
  /** With `remove` and no tenant: every synthetic data set (never implied by a missing tenant). */
  all?: boolean;
}

/** The argv of server/src/demo-data.ts for a request. Pure. */
export function demoDataArgs(r: DemoDataRequest): string[] {
  const a = serverCommand('demoData');
  if (r.remove) a.push('--remove');
  else a.push('--patients', String(r.patients ?? 0));
  if (r.tenant) a.push('--tenant', r.tenant);
  else if (r.remove && r.all) a.push('--all');
  if (!r.remove && r.clinicians !== null) a.push('--clinicians', String(r.clinicians));
  if (!r.remove && r.appointmentsPerPatient !== null) a.push('--appointments-per-patient', String(r.appointmentsPerPatient));
  return a;
}

/**
 * The human summary of the server CLI's result (its JSON line): what was created, topped up or
 * removed, clinicians included, and a plain "nothing matched" when a removal found nothing. Pure.
 */
export function demoDataSummary(result: Record<string, unknown>): string {
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  const o = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
  const plural = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
  const tenant = typeof result.tenant === 'string' ? result.tenant : null;
  if (result.action === 'remove') {
    const r = o(result.removed);
    const where = tenant ? `data set '${tenant}'` : 'every data set';
    if (n(r.patients) + n(r.appointments) + n(r.clinicians) + n(r.users) === 0)
      return tenant ? `No synthetic data matched data set '${tenant}': nothing was removed.` : 'There is no synthetic data: nothing was removed.';
    return `Removed synthetic data of ${where}: ${plural(n(r.patients), 'patient')}, ${plural(n(r.appointments), 'appointment')}, ${plural(n(r.clinicians), 'clinician')}, ${plural(n(r.users), 'sign-in account')}.`;
  }
  const p = o(result.patients);
  const c = o(result.clinicians);
  const a = o(result.appointments);
  const u = o(result.users);
  const lines = [
    `Demo data set '${tenant ?? 'demo'}' (MRNs ${mrnPrefixOf(tenant ?? 'demo')}…):`,
    `  patients      ${n(p.requested)} requested: ${n(p.created)} created, ${n(p.existing)} already there`,
    `  clinicians    ${n(c.created)} created, ${n(c.existing)} already there`,
    `  appointments  ${n(a.created)} created${n(a.skipped) ? `, ${n(a.skipped)} skipped (slot taken)` : ''}`,
  ];
  if (n(u.created) + n(u.existing) > 0) lines.push(`  sign-in accounts  ${n(u.created)} created, ${n(u.existing)} already there`);
  return lines.join('\n');
}

/** A tenant's MRN prefix, as the server's generator makes it (`demo` → `DEMO-`). */
export function mrnPrefixOf(tenant: string): string {
  return `${tenant.toUpperCase()}-`;
}

/**
 * Create or remove synthetic demo data (patients marked `is_synthetic`, MRNs `<TENANT>-0000001`…) in the
 * installed stack, through a one-off backend container talking to PostgreSQL directly. Real
 * records are never touched (the server's generator only ever selects synthetic rows).
 * @returns the server CLI's one-line JSON result.
 * @throws OperationError when the CLI printed no result; ExternalCommandError with its stderr when it failed.
 */
export async function runDemoData(stack: Pick<Stack, 'compose'>, r: DemoDataRequest, onProgress?: (line: string) => void): Promise<Record<string, unknown>> {
  const res = await stack.compose.runOnce('backend', demoDataArgs(r), { ...DIRECT_DB_ENV }, onProgress);
  const line = res.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  try {
    if (line) return JSON.parse(line) as Record<string, unknown>;
  } catch {
    /* fall through */
  }
  throw new OperationError('the demo-data command printed no result', 'check `carebox logs backend`; the server image may not match this Carebox version');
}
