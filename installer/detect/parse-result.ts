/**
 * The result of parsing one kernel file. Parsers never throw: a file that is present but does not
 * hold what its format promises comes back as `{ ok: false, reason }`, so the caller can fall back
 * to the next source and say why in the fact's `source`.
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A successful parse. */
export function parsed<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

/** A failed parse; `reason` is short and quotes (a prefix of) the offending text. */
export function malformed<T>(reason: string): Parsed<T> {
  return { ok: false, reason };
}

/** Quotes at most 40 characters of file text for a `reason`, with newlines made visible. */
export function quote(text: string): string {
  const t = text.trim();
  const short = t.length > 40 ? `${t.slice(0, 40)}…` : t;
  return t.length === 0 ? 'empty file' : `'${short.replace(/\n/g, '\\n')}'`;
}
