import type { StepReporter } from '../apply/steps.js';

/** What the UI shows of one step. */
export interface StepView {
  id: string;
  title: string;
  status: 'running' | 'done' | 'failed' | 'skipped';
  summary: string | null;
  /** Latest progress line while running. */
  progress: string | null;
  error: string | null;
  /** Duration in ms once finished. */
  durationMs: number | null;
}

/**
 * A StepReporter that keeps state for React (useSyncExternalStore). Ink never leaks into the
 * install logic: the steps only see the StepReporter interface.
 */
export class StepStore implements StepReporter {
  private steps: StepView[] = [];
  private started = new Map<string, number>();
  private listeners = new Set<() => void>();

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): StepView[] => this.steps;

  private update(id: string, patch: Partial<StepView>): void {
    this.steps = this.steps.map((s) => (s.id === id ? { ...s, ...patch } : s));
    this.listeners.forEach((l) => l());
  }

  start(id: string, title: string): void {
    this.started.set(id, Date.now());
    this.steps = [...this.steps, { id, title, status: 'running', summary: null, progress: null, error: null, durationMs: null }];
    this.listeners.forEach((l) => l());
  }
  progress(id: string, message: string): void {
    this.update(id, { progress: message });
  }
  succeed(id: string, summary: string | null): void {
    this.update(id, { status: 'done', summary, progress: null, durationMs: Date.now() - (this.started.get(id) ?? Date.now()) });
  }
  fail(id: string, error: unknown): void {
    this.update(id, { status: 'failed', error: (error as Error)?.message ?? String(error), durationMs: Date.now() - (this.started.get(id) ?? Date.now()) });
  }
  skip(id: string, title: string, why: string): void {
    this.steps = [...this.steps, { id, title, status: 'skipped', summary: why, progress: null, error: null, durationMs: 0 }];
    this.listeners.forEach((l) => l());
  }
}
