/**
 * Promise-style prompts inside a mounted Ink app. Logic awaits `prompter.confirm(…)`,
 * `prompter.number(…)` or `prompter.choose(…)`; the store holds the one open question for the
 * PromptView component (useSyncExternalStore), which settles it when the user answers. Ink never
 * leaks into the logic: it only sees the {@link Prompter} interface.
 */

/** Asks the operator; every method resolves with null (or false) when the question is cancelled (Esc). */
export interface Prompter {
  /** Yes/no. `defaultYes` decides what Enter means. `details` are lines shown above the question. */
  confirm(question: string, opts?: { defaultYes?: boolean; details?: string[] }): Promise<boolean>;
  /** A whole number in [min, max], starting at `initial`. */
  number(question: string, opts: { initial: number; min: number; max: number }): Promise<number | null>;
  /** One of `options`, the cursor starting at `initial` (default the first). */
  choose<T extends string>(question: string, options: { value: T; label: string }[], initial?: T): Promise<T | null>;
}

/** The open question, as PromptView renders it. */
export type PromptRequest =
  | { id: number; kind: 'confirm'; question: string; defaultYes: boolean; details: string[] }
  | { id: number; kind: 'number'; question: string; initial: number; min: number; max: number }
  | { id: number; kind: 'choose'; question: string; options: { value: string; label: string }[]; initial: string | null };

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** A Prompter whose questions are answered through {@link answer} / {@link cancel}. One question at a time. */
export class PromptStore implements Prompter {
  private current: PromptRequest | null = null;
  private settle: ((value: unknown) => void) | null = null;
  private nextId = 1;
  private listeners = new Set<() => void>();

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  };

  /** The open question, or null. */
  getSnapshot = (): PromptRequest | null => this.current;

  private ask<T>(req: WithoutId<PromptRequest>, cancelled: T): Promise<T> {
    if (this.current) this.cancel();
    return new Promise<T>((resolve) => {
      this.current = { ...req, id: this.nextId++ } as PromptRequest;
      this.settle = (v) => resolve((v === undefined ? cancelled : v) as T);
      this.listeners.forEach((l) => l());
    });
  }

  confirm(question: string, opts: { defaultYes?: boolean; details?: string[] } = {}): Promise<boolean> {
    return this.ask({ kind: 'confirm', question, defaultYes: opts.defaultYes ?? false, details: opts.details ?? [] }, false);
  }

  number(question: string, opts: { initial: number; min: number; max: number }): Promise<number | null> {
    const initial = Math.min(opts.max, Math.max(opts.min, opts.initial));
    return this.ask({ kind: 'number', question, initial, min: opts.min, max: opts.max }, null);
  }

  choose<T extends string>(question: string, options: { value: T; label: string }[], initial?: T): Promise<T | null> {
    return this.ask({ kind: 'choose', question, options, initial: initial ?? null }, null);
  }

  /** Settle the open question with `value` (ignored when `id` is not the open one). */
  answer(id: number, value: unknown): void {
    if (!this.current || this.current.id !== id) return;
    const settle = this.settle;
    this.current = null;
    this.settle = null;
    this.listeners.forEach((l) => l());
    settle?.(value);
  }

  /** Cancel the open question (Esc): confirm → false, number/choose → null. */
  cancel(): void {
    if (!this.current) return;
    this.answer(this.current.id, undefined);
  }
}
