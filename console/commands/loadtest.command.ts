/**
 * `carebox loadtest [--duration S] [--max-rate X] [--proof-duration S] [--think-time Z | --profile FILE]
 * [--no-saturation] [--saturation-max N]`: measure the active staff this install serves under its
 * workload profile (open model, then a proof with virtual staff who pause), through its nginx on
 * loopback, and record the proven figure in carebox.json (`plan.capacity.measured`).
 * Heavy modules (Docker, autocannon, Ink) load only when the verb runs.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { readFile } from 'node:fs/promises';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, numberFlag, withCommon } from '../../installer/commands/common.options.js';
import { ExitCode, UsageError } from '../../installer/errors.js';
import {
  parseProfileFile,
  staffUnit,
  THINK_TIME_LIMITS_S,
  withThinkTime,
  DEFAULT_PROFILE,
  type WorkloadProfile,
} from '../../installer/plan/workload.profile.js';
import type { LoadtestReporter, LoadtestResult } from '../ops/loadtest.ops.js';
import { P95_LIMIT_MS } from '../ops/loadtest.ramp.js';
import { RATE_LIMITS } from '../ops/loadtest.rate.js';
import { renderP95Chart } from '../ui/p95.chart.js';

const L = RATE_LIMITS;

/** The text report of a load test. Pure. */
export function formatLoadtest(r: LoadtestResult): string {
  const unit = staffUnit(r.profile);
  const lines = [
    `Load test of ${r.url} (tier ${r.tier}, ${r.host.cpus} CPUs; ${r.durationS} s per rate, up to ${r.maxRate} actions/s)`,
    `Profile ${r.profile.name}: ${r.requestsPerAction} requests per action, think time ${r.profile.thinkTime.meanS} s (${r.profile.thinkTime.distribution}); actions: ${r.mix.join('; ')}`,
    '',
    '          step    req/s  actions/s   R s   p50 ms   p95 ms   p99 ms   errors',
  ];
  for (const l of r.levels) {
    const errors = l.errors.total === 0 ? '0' : `${l.errors.total} (${(l.errors.rate * 100).toFixed(2)} %)`;
    lines.push(
      `${l.label.padStart(14).slice(-32)} ${String(l.requestsPerSecond).padStart(8)} ${String(l.actionsPerSecond ?? '–').padStart(10)} ${String(l.responseTimeS ?? '–').padStart(5)} ${String(l.latencyMs.p50).padStart(8)} ${String(l.latencyMs.p95).padStart(8)} ${String(l.latencyMs.p99).padStart(8)}   ${errors}${l.sustained ? '' : `   ✗ ${l.reason}`}`,
    );
  }
  const rates = r.levels.filter((l) => l.kind === 'rate');
  lines.push(
    '',
    ...renderP95Chart(
      rates.map((l) => ({ users: l.load, p95Ms: l.latencyMs.p95, sustained: l.sustained })),
      { limitMs: P95_LIMIT_MS, xLabel: 'actions/s' },
    ),
    '',
  );
  lines.push(
    r.xStar > 0
      ? `Open model: X* = ${r.xStar} actions/s sustained (${r.requestsPerSecond} req/s, p50 ${r.latencyMs.p50} / p95 ${r.latencyMs.p95} / p99 ${r.latencyMs.p99} ms from each request's intended start, ${r.errors.total} errors), R = ${r.responseTimeS} s per action.`
      : `Open model: not even ${Math.min(...rates.map((l) => l.load), Number.MAX_SAFE_INTEGER) === Number.MAX_SAFE_INTEGER ? 0 : Math.min(...rates.map((l) => l.load))} actions/s were sustained at p95 ≤ ${r.criteria.p95LimitMs} ms.`,
    `Stopped: ${r.stoppedBecause}.`,
    `Active staff N = X* × (R + Z) = ${r.xStar} × (${r.responseTimeS} + ${r.thinkTimeS}) = ${r.activeStaff} ${unit}.`,
  );
  for (const p of r.proof) {
    lines.push(
      `Proof: ${p.staff} virtual staff pausing between actions for ${p.durationS} s: ${p.actionsPerSecond} actions/s, p95 ${p.p95Ms} ms, ${p.errors} errors — ${p.held ? 'held' : `did not hold (${p.reason})`}.`,
    );
  }
  if (r.saturation)
    lines.push(
      `Saturation: ${r.saturation.connections} connections without pause (${r.saturation.requestsPerSecond} req/s at p95 ${r.saturation.p95Ms} ms; ${r.saturation.stoppedBecause}).`,
    );
  const e = r.estimate;
  lines.push(
    `Estimate for this install: ${e.concurrentUsers[0]}–${e.concurrentUsers[1]} ${e.unit}${e.requestsPerSecond ? ` (${e.requestsPerSecond[0]}–${e.requestsPerSecond[1]} req/s)` : ''}.`,
  );
  lines.push(
    r.measured
      ? `Recorded in carebox.json (plan.capacity.measured, ${r.measured.measuredAt}): ${r.measured.limitedByMaxRate ? 'at least ' : ''}${r.measured.concurrentUsers} ${unit}, proven; \`carebox plan\` and \`carebox status\` show it.`
      : `Nothing recorded in carebox.json: ${r.notRecordedBecause}.`,
  );
  const removed = r.syntheticData.removed;
  lines.push(
    `Synthetic data: tenant ${r.syntheticData.tenant}, ${r.syntheticData.created.patients} patients and ${r.syntheticData.created.users} clerk accounts created (virtual staff share their sessions), ` +
      (removed
        ? `removed afterwards (${Object.entries(removed)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}).`
        : 'NOT removed (see the error).'),
  );
  return lines.join('\n');
}

/**
 * The profile of `--think-time`/`--profile` (file read here, validated by workload.profile.ts), or
 * undefined when neither is given (the installed plan's profile is used).
 * @throws UsageError (exit 2) for an unreadable or invalid file or an out-of-range think time.
 */
export async function profileFromFlags(raw: { thinkTime?: unknown; profile?: unknown }): Promise<WorkloadProfile | undefined> {
  let profile: WorkloadProfile | undefined;
  if (typeof raw.profile === 'string') {
    const text = await readFile(raw.profile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read --profile ${raw.profile}: ${err.code ?? err.message}`);
    });
    profile = parseProfileFile(text, raw.profile);
  }
  const z = numberFlag('--think-time', raw.thinkTime as string | undefined, THINK_TIME_LIMITS_S.min, THINK_TIME_LIMITS_S.max);
  return z === undefined ? profile : withThinkTime(profile ?? DEFAULT_PROFILE, z);
}

/** `carebox loadtest`. Exit 0 when it ran (proven or not: the report says), 1 when it could not run or clean up. */
export function registerLoadtest(program: Command, run: ActionRunner): void {
  withCommon(
    program
      .command('loadtest')
      .description(
        'measure the active staff this install serves (open model + proof run with think time), through nginx on loopback, with synthetic data only; records the proven figure in carebox.json',
      ),
  )
    .addOption(new Option('--duration <S>', `seconds each arrival rate runs (${L.durationS.min}–${L.durationS.max}, default ${L.durationS.default})`))
    .addOption(new Option('--max-rate <X>', `highest arrival rate tried, actions per second (${L.maxRate.min}–${L.maxRate.max}, default ${L.maxRate.default})`))
    .addOption(new Option('--proof-duration <S>', `seconds of the proof run with virtual staff (${L.proofS.min}–${L.proofS.max}, default ${L.proofS.default})`))
    .addOption(new Option('--think-time <SECONDS>', "mean pause between one person's actions (default: the installed plan's profile, 30 s)"))
    .addOption(new Option('--profile <FILE>', 'workload profile JSON (as in `carebox plan --json` capacity.profile)'))
    .addOption(new Option('--no-saturation', 'skip the closed-loop ramp without pauses (saturation)'))
    .addOption(
      new Option(
        '--saturation-max <N>',
        `highest connection count of the saturation ramp (${L.saturationMax.min}–${L.saturationMax.max}, default ${L.saturationMax.default})`,
      ),
    )
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const durationS = intFlag('--duration', raw.duration as string | undefined, L.durationS.min, L.durationS.max) ?? L.durationS.default;
        const maxRate = numberFlag('--max-rate', raw.maxRate as string | undefined, L.maxRate.min, L.maxRate.max) ?? L.maxRate.default;
        const proofS = intFlag('--proof-duration', raw.proofDuration as string | undefined, L.proofS.min, L.proofS.max) ?? L.proofS.default;
        const saturationMax =
          intFlag('--saturation-max', raw.saturationMax as string | undefined, L.saturationMax.min, L.saturationMax.max) ?? L.saturationMax.default;
        const profile = await profileFromFlags(raw);
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
          result = await runLoadtest(
            stack,
            { durationS, maxRate, proofS, saturation: raw.saturation !== false, saturationMax, ...(profile ? { profile } : {}) },
            reporter,
          );
        } finally {
          stop();
        }
        out.result({ ok: true, ...result });
        out.print(formatLoadtest(result));
        return ExitCode.Ok;
      }),
    );
}
