/**
 * `carebox loadtest [--duration S] [--max-users N]`: measure the concurrent users this install
 * serves at p95 ≤ 200 ms (through its nginx, on loopback) and record it in carebox.json
 * (`plan.capacity.measured`, shown by `carebox plan` and `carebox status`).
 * Heavy modules (Docker, autocannon, Ink) load only when the verb runs.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { ExitCode } from '../../installer/errors.js';
import type { LoadtestReporter, LoadtestResult } from '../ops/loadtest.ops.js';
import { LOADTEST_LIMITS, P95_LIMIT_MS } from '../ops/loadtest.ramp.js';
import { renderP95Chart } from '../ui/p95.chart.js';

const DURATION = LOADTEST_LIMITS.durationS;
const MAX_USERS = LOADTEST_LIMITS.maxUsers;

/** The text report of a load test. Pure. */
export function formatLoadtest(r: LoadtestResult): string {
  const lines = [`Load test of ${r.url} (${r.durationS} s per level, up to ${r.maxUsers} virtual users; mix: ${r.mix.join(' → ')})`, ''];
  lines.push('  users    req/s   p50 ms   p95 ms   p99 ms   errors');
  for (const l of r.levels) {
    const errors = l.errors.total === 0 ? '0' : `${l.errors.total} (${(l.errors.rate * 100).toFixed(2)} %)`;
    lines.push(
      `${String(l.users).padStart(7)} ${String(l.requestsPerSecond).padStart(8)} ${String(l.latencyMs.p50).padStart(8)} ${String(l.latencyMs.p95).padStart(8)} ${String(l.latencyMs.p99).padStart(8)}   ${errors}${l.sustained ? '' : `   ✗ ${l.reason}`}`,
    );
  }
  lines.push('', ...renderP95Chart(r.levels.map((l) => ({ users: l.users, p95Ms: l.latencyMs.p95, sustained: l.sustained })), { limitMs: P95_LIMIT_MS }), '');
  lines.push(
    r.sustained
      ? `Sustained: ${r.measured.limitedByMaxUsers ? 'at least ' : ''}${r.sustained.concurrentUsers} concurrent users at p95 ${r.sustained.p95Ms} ms, ${r.sustained.requestsPerSecond} req/s (errors ≤ ${r.criteria.errorRateLimit * 100} %)` +
        (r.measured.limitedByMaxUsers ? `; every level up to --max-users was sustained, so this is a lower bound: rerun with a higher --max-users for the limit.` : '.')
      : `Not even ${r.levels[0]?.users ?? 1} users were sustained at p95 ≤ ${r.criteria.p95LimitMs} ms.`,
  );
  lines.push(`Stopped: ${r.stoppedBecause}.`);
  lines.push(`Estimate for this install: ${r.estimate.concurrentUsers[0]}–${r.estimate.concurrentUsers[1]} concurrent users (${r.estimate.basis}).`);
  lines.push(`Recorded in carebox.json (plan.capacity.measured, ${r.measured.measuredAt}); \`carebox plan\` and \`carebox status\` show it.`);
  const removed = r.syntheticData.removed;
  lines.push(
    `Synthetic data: tenant ${r.syntheticData.tenant}, ${r.syntheticData.created.patients} patients and ${r.syntheticData.created.users} clerk accounts created, ` +
      (removed ? `removed afterwards (${Object.entries(removed).map(([k, v]) => `${v} ${k}`).join(', ')}).` : 'NOT removed (see the error).'),
  );
  return lines.join('\n');
}

/** `carebox loadtest`. Exit 0 when measured (whatever the figure), 1 when it could not run or clean up. */
export function registerLoadtest(program: Command, run: ActionRunner): void {
  withCommon(
    program
      .command('loadtest')
      .description('measure the concurrent users this install serves at p95 ≤ 200 ms, through nginx on loopback, with synthetic data only; records it in carebox.json'),
  )
    .addOption(new Option('--duration <S>', `seconds each concurrency level runs (${DURATION.min}–${DURATION.max}, default ${DURATION.default})`))
    .addOption(new Option('--max-users <N>', `highest number of concurrent virtual users tried (${MAX_USERS.min}–${MAX_USERS.max}, default ${MAX_USERS.default})`))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const durationS = intFlag('--duration', raw.duration as string | undefined, DURATION.min, DURATION.max) ?? DURATION.default;
        const maxUsers = intFlag('--max-users', raw.maxUsers as string | undefined, MAX_USERS.min, MAX_USERS.max) ?? MAX_USERS.default;
        const [{ openStack }, { runLoadtest }, { plainLoadtestReporter }] = await Promise.all([
          import('../ops/stack.js'),
          import('../ops/loadtest.ops.js'),
          import('../ui/loadtest.store.js'),
        ]);
        const stack = await openStack(dir);
        const interactive = !out.json && process.stderr.isTTY === true;
        let reporter: LoadtestReporter;
        let stop = (): void => undefined;
        if (interactive) {
          const ui = (await import('../ui/loadtest.view.js')).startLoadtestUi();
          reporter = ui.store;
          stop = ui.stop;
        } else {
          reporter = plainLoadtestReporter((line) => out.log(line));
        }
        let result: LoadtestResult;
        try {
          result = await runLoadtest(stack, { durationS, maxUsers }, reporter);
        } finally {
          stop();
        }
        out.result({ ok: true, ...result });
        out.print(formatLoadtest(result));
        return ExitCode.Ok;
      }),
    );
}
