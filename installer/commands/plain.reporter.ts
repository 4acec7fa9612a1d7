import type { StepReporter } from '../apply/steps.js';
import type { Output } from './output.js';

/** Step progress as plain lines on stderr: for pipes, CI and --json runs (never Ink). */
export function plainReporter(out: Output): StepReporter {
  const started = new Map<string, number>();
  return {
    start: (id, title) => {
      started.set(id, Date.now());
      out.log(`… ${title}`);
    },
    progress: (_id, message) => out.log(`    ${message}`),
    succeed: (id, summary) => {
      const ms = Date.now() - (started.get(id) ?? Date.now());
      out.log(`✓ ${summary ?? id} (${(ms / 1000).toFixed(1)} s)`);
    },
    fail: (id, err) => out.log(`✗ ${id} failed: ${(err as Error).message?.split('\n')[0] ?? String(err)}`),
    skip: (_id, title, why) => out.log(`- ${title}: skipped (${why})`),
  };
}
