/**
 * The load test's progress as state for the UI (useSyncExternalStore), fed through the
 * LoadtestReporter interface: the ramp never sees Ink.
 */
import type { LevelSummary, LoadtestReporter } from '../ops/loadtest.ops.js';

/** A finished step as the UI shows it. */
export interface LevelView {
  kind: LevelSummary['kind'];
  /** actions/s (rate), virtual staff (proof) or connections (saturation). */
  load: number;
  label: string;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  errors: number;
  errorRate: number;
  sustained: boolean;
  reason: string | null;
}

/** The level running now. */
export interface CurrentLevel {
  label: string;
  /** 0-based position in the ramp. */
  index: number;
  /** Levels the ramp plans (bisection may add some). */
  planned: number;
  durationS: number;
  elapsedS: number;
  responses: number;
}

/** Everything the UI draws. */
export interface LoadtestState {
  phases: string[];
  levels: LevelView[];
  current: CurrentLevel | null;
}

/** The step's figures for the UI. Pure. */
export function levelView(l: LevelSummary): LevelView {
  return {
    kind: l.kind,
    load: l.load,
    label: l.label,
    requestsPerSecond: l.requestsPerSecond,
    p50Ms: l.latencyMs.p50,
    p95Ms: l.latencyMs.p95,
    p99Ms: l.latencyMs.p99,
    errors: l.errors.total,
    errorRate: l.errors.rate,
    sustained: l.sustained,
    reason: l.reason,
  };
}

/** A LoadtestReporter holding state for React. */
export class LoadtestStore implements LoadtestReporter {
  private state: LoadtestState = { phases: [], levels: [], current: null };
  private readonly listeners = new Set<() => void>();

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): LoadtestState => this.state;

  private set(patch: Partial<LoadtestState>): void {
    this.state = { ...this.state, ...patch };
    this.listeners.forEach((l) => l());
  }

  phase(message: string): void {
    this.set({ phases: [...this.state.phases, message] });
  }

  levelStart(label: string, index: number, planned: number, durationS: number): void {
    this.set({ current: { label, index, planned, durationS, elapsedS: 0, responses: 0 } });
  }

  tick(elapsedS: number, responses: number): void {
    if (this.state.current) this.set({ current: { ...this.state.current, elapsedS, responses } });
  }

  levelDone(level: LevelSummary): void {
    this.set({ levels: [...this.state.levels, levelView(level)], current: null });
  }
}

/** One line for a finished level (UI and plain output). Pure. */
export function levelLine(l: LevelView): string {
  const errors = l.errors === 0 ? '0 errors' : `${l.errors} errors (${(l.errorRate * 100).toFixed(2)} %)`;
  return `${l.label.padStart(12)} ${String(l.requestsPerSecond).padStart(6)} req/s  p50/95/99 ${l.p50Ms}/${l.p95Ms}/${l.p99Ms} ms  ${errors}  ${l.sustained ? 'sustained' : `not sustained: ${l.reason}`}`;
}

/** A LoadtestReporter writing plain progress lines (no TTY, or --json): one per phase, one per level, one every 5 s. */
export function plainLoadtestReporter(log: (line: string) => void): LoadtestReporter {
  let last = 0;
  return {
    phase: (m) => log(`loadtest: ${m}`),
    levelStart: (label, index, planned, durationS) => {
      last = 0;
      log(`loadtest: step ${index + 1}/${planned}: ${label} for ${durationS} s`);
    },
    tick: (elapsedS, responses) => {
      if (elapsedS - last >= 5) {
        last = elapsedS;
        log(`loadtest:   ${Math.floor(elapsedS)} s, ${responses} responses`);
      }
    },
    levelDone: (level) => log(`loadtest: ${levelLine(levelView(level)).trim()}`),
  };
}
