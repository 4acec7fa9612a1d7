import type { Command } from 'commander';
import { Option } from 'commander';
import { connectDocker } from '../../installer/runtime/docker.connect.js';
import type { ActionRunner, RawOptions } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { jsonLinesOutput, reportError, type Output } from '../../installer/commands/output.js';
import { UsageError } from '../../installer/errors.js';
import { requireManifest } from '../../installer/manifest/manifest.js';
import { formatLogLine, serviceLogs } from '../ops/logs.ops.js';

/**
 * `carebox logs SERVICE [--tail N] [--follow] [--timestamps]`: every replica's log, demultiplexed,
 * each line prefixed `SERVICE#N | `. With --json the output is JSON Lines — one object per log line
 * (`{service, replica, container, stream, time, line}`), with or without --follow, so scripts read
 * both the same way; an error is one more line, `{"ok":false,"error":{…}}`. Exit 0; 2 for an
 * unknown service; 1 when Docker cannot be used. --follow ends on Ctrl-C (exit 0).
 */
export function registerLogs(program: Command, run: ActionRunner): void {
  withCommon(
    program
      .command('logs')
      .description('show the logs of every replica of a service (demultiplexed)')
      .argument('<SERVICE>', 'db, redis, backend, worker, nginx or pgbouncer'),
    'print JSON Lines on stdout: one object per log line ({service, replica, container, stream, time, line}); an error is one line {"ok":false,"error":{…}}',
  )
    .addOption(new Option('--tail <N>', 'lines per replica from the end (default 100)'))
    .addOption(new Option('--follow', 'keep streaming new lines (and replicas that appear) until Ctrl-C').default(false))
    .addOption(new Option('--timestamps', "show Docker's timestamp of each line").default(false))
    .action(
      run(async (docOut, raw, args) => {
        // JSON Lines, errors included: a multi-line error document would break a JSONL reader.
        const out = jsonLinesOutput(docOut);
        try {
          return await logs(out, raw, args);
        } catch (err) {
          return reportError(err, out);
        }
      }),
    );
}

/** The body of `logs` (errors are reported by the caller, on one line under --json). */
async function logs(out: Output, raw: RawOptions, args: string[]): Promise<number> {
  const { dir, json } = commonOptions(raw as { dir?: string; json?: boolean });
  const service = args[0];
  if (!service) throw new UsageError('logs needs a SERVICE');
  const tail = intFlag('--tail', raw.tail as string | undefined, 0, 1_000_000) ?? 100;
  const m = await requireManifest(dir);
  const { docker } = await connectDocker();
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const r = await serviceLogs(docker, m, { service, tail, follow: Boolean(raw.follow), signal: ac.signal }, (l) => {
      process.stdout.write(json ? `${JSON.stringify(l)}\n` : `${formatLogLine(l, { timestamps: Boolean(raw.timestamps) })}\n`);
    });
    if (r.replicas.length === 0) out.log(`${service} has no containers (is the stack up? \`carebox status\`)`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}
