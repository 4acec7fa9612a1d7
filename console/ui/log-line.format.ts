/**
 * Log lines for people, for the console's logs view: the server's pino JSON lines
 * (`{"level":30,"time":…,"service":"carebox-server","msg":"GET 200","req":{…},…}`) become
 * `12:01:02 INFO  GET 200 /api/v1/patients 4 ms`; anything else (nginx, PostgreSQL, Redis) is
 * shown as it is. `carebox logs` keeps the raw lines (scripts read them).
 */
import type { Tone } from './dashboard.model.js';

/** pino's numeric levels. */
const LEVELS: Readonly<Record<number, { name: string; tone: Tone }>> = {
  10: { name: 'TRACE', tone: 'dim' },
  20: { name: 'DEBUG', tone: 'dim' },
  30: { name: 'INFO', tone: 'plain' },
  40: { name: 'WARN', tone: 'warn' },
  50: { name: 'ERROR', tone: 'bad' },
  60: { name: 'FATAL', tone: 'bad' },
};

/** Fields every line carries, or that are shown in their own place: not repeated as `key=value`. */
const SHOWN_OR_NOISE = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'role', 'v', 'name', 'req', 'res', 'responseTime', 'err']);

/** A log line made readable, with the tone of its level. */
export interface ReadableLogLine {
  text: string;
  tone: Tone;
}

function clock(time: unknown): string | null {
  const d = typeof time === 'number' || typeof time === 'string' ? new Date(time) : null;
  if (!d || Number.isNaN(d.getTime())) return null;
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function scalar(v: unknown): string | null {
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/**
 * One line of `logs` output (`backend#2 | <text>`) made readable: for a pino JSON line the replica,
 * the time (HH:MM:SS, local), the level, the message, then what matters: a request's path, status
 * and duration, an error's type and message, and the line's other plain fields as `key=value`
 * (nested objects one level deep). Other lines come back unchanged. Pure.
 */
export function readableLogLine(line: string): ReadableLogLine {
  const bar = line.indexOf(' | ');
  const prefix = bar === -1 ? '' : line.slice(0, bar);
  const body = bar === -1 ? line : line.slice(bar + 3);
  const trimmed = body.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return { text: line, tone: 'plain' };
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    return { text: line, tone: 'plain' };
  }
  if (typeof o.level !== 'number' && typeof o.msg !== 'string') return { text: line, tone: 'plain' };
  const level = typeof o.level === 'number' ? (LEVELS[o.level] ?? { name: `L${o.level}`, tone: 'plain' as Tone }) : { name: '', tone: 'plain' as Tone };
  const parts: string[] = [];
  if (prefix) parts.push(prefix);
  const t = clock(o.time);
  if (t) parts.push(t);
  if (level.name) parts.push(level.name.padEnd(5));
  if (typeof o.msg === 'string') parts.push(o.msg);
  const req = o.req && typeof o.req === 'object' ? (o.req as Record<string, unknown>) : null;
  if (req && typeof req.path === 'string') parts.push(req.path);
  if (typeof o.responseTime === 'number') parts.push(`${o.responseTime} ms`);
  const err = o.err && typeof o.err === 'object' ? (o.err as Record<string, unknown>) : null;
  if (err) parts.push(`${typeof err.type === 'string' ? `${err.type}: ` : ''}${typeof err.message === 'string' ? err.message : ''}`.trim());
  for (const [k, v] of Object.entries(o)) {
    if (SHOWN_OR_NOISE.has(k)) continue;
    const s = scalar(v);
    if (s !== null) parts.push(`${k}=${s}`);
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) {
        const s2 = scalar(v2);
        if (s2 !== null) parts.push(`${k}.${k2}=${s2}`);
      }
    }
  }
  return { text: parts.filter((p) => p !== '').join(' '), tone: level.tone };
}
