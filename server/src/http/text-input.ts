/**
 * Text input rules, applied to every request before a handler sees it:
 * - every string of the validated body and query is put in Unicode Normalization Form C (NFC), so
 *   a decomposed "U + ◌̈" and a precomposed "Ü" are stored, compared and searched alike;
 * - a string holding a lone (unpaired) UTF-16 surrogate is refused with 400: PostgreSQL cannot
 *   store it, and the driver would silently turn it into U+FFFD;
 * - name-like fields ({@link singleLineText}) also refuse control characters, line and paragraph
 *   separators and the bidirectional overrides, embeddings, isolates and marks (U+202A–U+202E,
 *   U+2066–U+2069, U+200E, U+200F, U+061C), which can make a name display as something it is not.
 *   Joiners (U+200C, U+200D), which some scripts need in names, stay allowed.
 */
import { z } from 'zod';
import { ValidationError } from './http-error.js';

/** Control characters, line/paragraph separators, and bidi controls (see the module comment). */
const FORBIDDEN_IN_NAMES = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u;

/**
 * A single-line, human-readable text field (names, departments): trimmed, `min`..`max` characters,
 * without control or bidi-override characters.
 * @param max most UTF-16 code units.
 */
export function singleLineText(min: number, max: number, emptyMessage = 'is required') {
  return z
    .string({ error: 'must be a string' })
    .trim()
    .min(min, { error: emptyMessage })
    .max(max, { error: `must be at most ${max} characters` })
    .refine((v) => !FORBIDDEN_IN_NAMES.test(v), { error: 'must not contain control or bidirectional-override characters' });
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Deepest nesting walked: every route's input is a few levels deep, and deeper junk fails validation anyway. */
const MAX_DEPTH = 8;

/**
 * Returns `value` with every string NFC-normalized (objects and arrays copied).
 * @param where `body` or `query`, the root of the field paths in the error.
 * @throws ValidationError naming every field that holds a lone surrogate.
 */
export function normalizeText<T>(value: T, where: string): T {
  const bad: Array<{ path: string; message: string }> = [];
  const walk = (v: unknown, path: string, depth: number): unknown => {
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) {
        bad.push({ path, message: 'contains an unpaired UTF-16 surrogate (not valid Unicode text)' });
        return v;
      }
      return v.normalize('NFC');
    }
    if (depth >= MAX_DEPTH || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((item, i) => walk(item, path === '' ? String(i) : `${path}.${i}`, depth + 1));
    if (Object.getPrototypeOf(v) !== Object.prototype) return v;
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v)) out[k] = walk(item, path === '' ? k : `${path}.${k}`, depth + 1);
    return out;
  };
  const result = walk(value, '', 0) as T;
  if (bad.length > 0) throw new ValidationError(bad.map((b) => ({ path: b.path === '' ? where : b.path, message: b.message })));
  return result;
}
