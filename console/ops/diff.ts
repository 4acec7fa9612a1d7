/**
 * Diffs for previews (`retier`, `upgrade`): unified diffs of rendered files and a list of the
 * sizing numbers that change. Pure functions.
 */
import { formatBytes } from '../../installer/detect/size.js';

/** One line of an edit script. */
type Edit = { op: ' ' | '-' | '+'; line: string };

/** Longest-common-subsequence edit script of two line lists (files here are a few hundred lines). */
function editScript(a: string[], b: string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', line: a[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ op: '-', line: a[i++]! });
    else out.push({ op: '+', line: b[j++]! });
  }
  while (i < n) out.push({ op: '-', line: a[i++]! });
  while (j < m) out.push({ op: '+', line: b[j++]! });
  return out;
}

/**
 * Unified diff (`diff -u` style, `context` lines around each change) of two texts, or '' when
 * they are equal. `null` stands for a file that does not exist.
 */
export function unifiedDiff(path: string, before: string | null, after: string | null, context = 3): string {
  if (before === after) return '';
  const split = (t: string | null) => (t === null || t === '' ? [] : t.replace(/\n$/, '').split('\n'));
  const a = split(before);
  const b = split(after);
  const edits = editScript(a, b);
  const changedAt = edits.map((e, k) => (e.op !== ' ' ? k : -1)).filter((k) => k >= 0);
  if (changedAt.length === 0) return '';
  // Group changes whose context windows overlap into hunks.
  const hunks: [number, number][] = [];
  for (const k of changedAt) {
    const lo = Math.max(0, k - context);
    const hi = Math.min(edits.length - 1, k + context);
    const last = hunks[hunks.length - 1];
    if (last && lo <= last[1] + 1) last[1] = hi;
    else hunks.push([lo, hi]);
  }
  const lines = [`--- ${before === null ? '/dev/null' : `a/${path}`}`, `+++ ${after === null ? '/dev/null' : `b/${path}`}`];
  for (const [lo, hi] of hunks) {
    let aStart = 1;
    let bStart = 1;
    for (let k = 0; k < lo; k++) {
      if (edits[k]!.op !== '+') aStart++;
      if (edits[k]!.op !== '-') bStart++;
    }
    const slice = edits.slice(lo, hi + 1);
    const aLen = slice.filter((e) => e.op !== '+').length;
    const bLen = slice.filter((e) => e.op !== '-').length;
    lines.push(`@@ -${aLen === 0 ? aStart - 1 : aStart},${aLen} +${bLen === 0 ? bStart - 1 : bStart},${bLen} @@`);
    for (const e of slice) lines.push(`${e.op}${e.line}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One sizing number that changes. */
export interface SizingChange {
  /** Dotted path under plan.sizing, e.g. `backend.replicas`. */
  path: string;
  before: unknown;
  after: unknown;
  /** `before → after`, bytes shown as KiB/MiB/GiB. */
  text: string;
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, value);
}

function show(path: string, v: unknown): string {
  if (v === undefined) return '(none)';
  if (typeof v === 'number' && /Bytes$/.test(path)) return formatBytes(v);
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Every leaf of two sizing objects that differs, sorted by path. */
export function sizingChanges(before: unknown, after: unknown): SizingChange[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  flatten(before, '', a);
  flatten(after, '', b);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths
    .filter((p) => JSON.stringify(a.get(p)) !== JSON.stringify(b.get(p)))
    .map((p) => ({ path: p, before: a.get(p) ?? null, after: b.get(p) ?? null, text: `${show(p, a.get(p))} → ${show(p, b.get(p))}` }));
}
