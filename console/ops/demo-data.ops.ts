import { DIRECT_DB_ENV } from '../../installer/apply/install.apply.js';
import { OperationError } from '../../installer/errors.js';
import type { Stack } from './stack.js';

/** What `carebox demo-data` asks the server's demo-data CLI for. */
export interface DemoDataRequest {
  /** Synthetic patients the tenant should have (the CLI tops up to this). */
  patients: number | null;
  tenant: string | null;
  clinicians: number | null;
  appointmentsPerPatient: number | null;
  /** Delete synthetic data only (of `tenant`, or all tenants). */
  remove: boolean;
}

/** The argv of server/src/demo-data.ts for a request. Pure. */
export function demoDataArgs(r: DemoDataRequest): string[] {
  const a = ['node', 'dist/server/src/demo-data.js'];
  if (r.remove) a.push('--remove');
  else a.push('--patients', String(r.patients ?? 0));
  if (r.tenant) a.push('--tenant', r.tenant);
  if (!r.remove && r.clinicians !== null) a.push('--clinicians', String(r.clinicians));
  if (!r.remove && r.appointmentsPerPatient !== null) a.push('--appointments-per-patient', String(r.appointmentsPerPatient));
  return a;
}

/**
 * Create or remove synthetic demo data (patients marked `is_synthetic`, `DEMO-` MRNs) in the
 * installed stack, through a one-off backend container talking to PostgreSQL directly. Real
 * records are never touched (the server's generator only ever selects synthetic rows).
 * @returns the server CLI's one-line JSON result.
 * @throws OperationError when the CLI printed no result; ExternalCommandError with its stderr when it failed.
 */
export async function runDemoData(stack: Pick<Stack, 'compose'>, r: DemoDataRequest, onProgress?: (line: string) => void): Promise<Record<string, unknown>> {
  const res = await stack.compose.runOnce('backend', demoDataArgs(r), { ...DIRECT_DB_ENV }, onProgress);
  const line = res.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  try {
    if (line) return JSON.parse(line) as Record<string, unknown>;
  } catch {
    /* fall through */
  }
  throw new OperationError('the demo-data command printed no result', 'check `carebox logs backend`; the server image may not match this Carebox version');
}
