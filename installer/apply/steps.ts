/** Receives the progress of a step list; the Ink UI and the plain stderr logger both implement it. */
export interface StepReporter {
  start(id: string, title: string): void;
  progress(id: string, message: string): void;
  succeed(id: string, summary: string | null): void;
  fail(id: string, error: unknown): void;
  skip(id: string, title: string, why: string): void;
}

/** One step: a title and a task. The task may report progress and return a one-line summary. */
export interface Step<C> {
  id: string;
  title: string;
  /** When it returns a reason, the step is skipped with that reason. */
  skipIf?: (ctx: C) => string | null;
  run(ctx: C, progress: (message: string) => void): Promise<string | void>;
}

/**
 * Run steps in order, reporting each. Stops at the first failure and rethrows its error (the
 * reporter has already shown it). Pure orchestration: no I/O of its own.
 */
export async function runSteps<C>(steps: Step<C>[], ctx: C, reporter: StepReporter): Promise<void> {
  for (const step of steps) {
    const skip = step.skipIf?.(ctx) ?? null;
    if (skip) {
      reporter.skip(step.id, step.title, skip);
      continue;
    }
    reporter.start(step.id, step.title);
    try {
      const summary = await step.run(ctx, (m) => reporter.progress(step.id, m));
      reporter.succeed(step.id, summary ?? null);
    } catch (err) {
      reporter.fail(step.id, err);
      throw err;
    }
  }
}

/** A StepReporter that reports nothing (tests, callers that only want the result). */
export const silentReporter: StepReporter = {
  start: () => undefined,
  progress: () => undefined,
  succeed: () => undefined,
  fail: () => undefined,
  skip: () => undefined,
};

/**
 * Run one step through a reporter: start, progress, succeed with the returned summary, or fail and
 * rethrow. For ops whose steps depend on earlier results (so a fixed step list does not fit).
 */
export async function step<T>(
  reporter: StepReporter,
  id: string,
  title: string,
  fn: (progress: (m: string) => void) => Promise<T>,
  summary?: (r: T) => string,
): Promise<T> {
  reporter.start(id, title);
  try {
    const r = await fn((m) => reporter.progress(id, m));
    reporter.succeed(id, summary ? summary(r) : typeof r === 'string' ? r : null);
    return r;
  } catch (err) {
    reporter.fail(id, err);
    throw err;
  }
}
