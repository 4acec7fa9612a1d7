/**
 * The load test's progress as state for the UI (useSyncExternalStore), fed through the
 * LoadtestReporter interface: the ramp never sees Ink.
 */
import type { LoadtestReporter } from '../ops/loadtest.ops.js';
import type { LevelResult } from '../ops/loadtest.ramp.js';

/** A finished level as the UI shows it. */
export interface LevelView {
  users: number;
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
  users: number;
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

/** The level's figures for the UI. Pure. */
export function levelView(l: LevelResult): LevelView {
  return {
    users: l.users,
    requestsPerSecond: l.stats.requestsPerSecond,
    p50Ms: l.stats.latency.p50,
    p95Ms: l.stats.latency.p95,
    p99Ms: l.stats.latency.p99,
    errors: l.stats.errors.total,
    errorRate: l.stats.errors.rate,
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

  levelStart(users: number, index: number, planned: number, durationS: number): void {
    this.set({ current: { users, index, planned, durationS, elapsedS: 0, responses: 0 } });
  }

  tick(elapsedS: number, responses: number): void {
    if (this.state.current) this.set({ current: { ...this.state.current, elapsedS, responses } });
  }

  levelDone(level: LevelResult): void {
    this.set({ levels: [...this.state.levels, levelView(level)], current: null });
  }
}

/** One line for a finished level (UI and plain output). Pure. */
export function levelLine(l: LevelView): string {
  const errors = l.errors === 0 ? '0 errors' : `${l.errors} errors (${(l.errorRate * 100).toFixed(2)} %)`;
  return `${String(l.users).padStart(5)} users  ${String(l.requestsPerSecond).padStart(6)} req/s  p50 ${l.p50Ms} ms  p95 ${l.p95Ms} ms  p99 ${l.p99Ms} ms  ${errors}  ${l.sustained ? 'sustained' : `not sustained: ${l.reason}`}`;
}

/** A LoadtestReporter writing plain progress lines (no TTY, or --json): one per phase, one per level, one every 5 s. */
export function plainLoadtestReporter(log: (line: string) => void): LoadtestReporter {
  let last = 0;
  return {
    phase: (m) => log(`loadtest: ${m}`),
    levelStart: (users, index, planned, durationS) => {
      last = 0;
      log(`loadtest: level ${index + 1}/${planned}: ${users} users for ${durationS} s`);
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
