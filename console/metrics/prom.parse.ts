/**
 * A minimal parser for the Prometheus text exposition format (version 0.0.4), which is what the
 * server's prom-client registry writes on `/metrics`. prom-client itself can only write it.
 *
 * Covered: `# HELP` / `# TYPE` lines (other comments are ignored), samples
 * `name{label="value",…} value [timestamp]` with escaped label values (`\\`, `\"`, `\n`), a
 * trailing comma in the label set, blanks around tokens, `NaN`/`+Inf`/`-Inf` in any case (prom-client
 * writes `Nan`), and CRLF line ends. Not covered
 * (prom-client never writes them): OpenMetrics `# EOF`, exemplars, UTF-8 quoted metric names.
 * Pure: text in, data out.
 */

/** Declared type of a metric family (`# TYPE`). */
export type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** One sample line. Histogram lines keep their suffix (`…_bucket`, `…_sum`, `…_count`) in `name`. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  /** The value as a float (`NaN`, `±Infinity` allowed). */
  value: number;
  /** Optional timestamp in ms since the epoch, null when the line has none. */
  timestampMs: number | null;
}

/** A parsed exposition: every sample in order, and the declared types and help texts by family name. */
export interface PromExposition {
  samples: PromSample[];
  types: Record<string, PromType>;
  help: Record<string, string>;
}

/** A line that is not valid exposition text; `line` is 1-based. */
export class PromParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`/metrics line ${line}: ${message}`);
    this.name = 'PromParseError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * Parse a sample value as Prometheus does (a float, plus the `Inf`/`+Inf`/`-Inf`/`NaN` spellings). Pure.
 * @throws Error when `text` is not a number.
 */
export function parsePromValue(text: string): number {
  // Go's ParseFloat (Prometheus' parser) takes these spellings in any case; prom-client writes `Nan`.
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special) return special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`not a number: '${text}'`);
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Read `{a="x",b="y"}` starting at `pos` (which is at `{`); returns the labels and the index after `}`. */
function readLabels(line: string, pos: number, lineNo: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = pos + 1;
  const skipSpace = () => {
    while (line[i] === ' ' || line[i] === '\t') i += 1;
  };
  for (;;) {
    skipSpace();
    if (line[i] === '}') return { labels, end: i + 1 };
    const m = LABEL_NAME.exec(line.slice(i));
    if (!m) throw new PromParseError(`bad label name at column ${i + 1}`, lineNo);
    const name = m[0];
    i += name.length;
    skipSpace();
    if (line[i] !== '=') throw new PromParseError(`expected '=' after label ${name}`, lineNo);
    i += 1;
    skipSpace();
    if (line[i] !== '"') throw new PromParseError(`expected '"' to open the value of label ${name}`, lineNo);
    i += 1;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new PromParseError(`unterminated value of label ${name}`, lineNo);
      if (c === '"') break;
      if (c === '\\') {
        const n = line[i + 1];
        if (n === 'n') value += '\n';
        else if (n === '\\' || n === '"') value += n;
        else throw new PromParseError(`bad escape '\\${n ?? ''}' in label ${name}`, lineNo);
        i += 2;
        continue;
      }
      value += c;
      i += 1;
    }
    i += 1;
    if (name in labels) throw new PromParseError(`label ${name} appears twice`, lineNo);
    labels[name] = value;
    skipSpace();
    if (line[i] === ',') {
      i += 1;
      continue;
    }
    if (line[i] === '}') return { labels, end: i + 1 };
    throw new PromParseError(`expected ',' or '}' after label ${name}`, lineNo);
  }
}

/**
 * Parse Prometheus text exposition. Pure.
 * @returns every sample in order plus `# TYPE` / `# HELP` declarations by family name.
 * @throws PromParseError naming the line when a line is malformed (a scrape of something that is
 *   not a Prometheus endpoint, or a truncated body).
 */
export function parsePrometheusText(text: string): PromExposition {
  const out: PromExposition = { samples: [], types: {}, help: {} };
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n += 1) {
    const lineNo = n + 1;
    const line = lines[n]!.replace(/\r$/, '').trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line);
      if (!m) continue; // any other comment
      const [, kind, name, rest = ''] = m;
      if (kind === 'TYPE') {
        const t = rest.trim();
        if (!TYPES.has(t)) throw new PromParseError(`unknown metric type '${t}' for ${name}`, lineNo);
        out.types[name!] = t as PromType;
      } else {
        out.help[name!] = unescapeHelp(rest);
      }
      continue;
    }
    const nm = NAME.exec(line);
    if (!nm) throw new PromParseError('expected a metric name', lineNo);
    const name = nm[0];
    let i = name.length;
    while (line[i] === ' ' || line[i] === '\t') i += 1;
    let labels: Record<string, string> = {};
    if (line[i] === '{') {
      const r = readLabels(line, i, lineNo);
      labels = r.labels;
      i = r.end;
    }
    const rest = line.slice(i).trim().split(/\s+/);
    if (rest.length < 1 || rest.length > 2 || rest[0] === '') throw new PromParseError(`expected 'value [timestamp]' after ${name}`, lineNo);
    let value: number;
    try {
      value = parsePromValue(rest[0]!);
    } catch (err) {
      throw new PromParseError(`${(err as Error).message} (metric ${name})`, lineNo);
    }
    let timestampMs: number | null = null;
    if (rest[1] !== undefined) {
      if (!/^-?\d+$/.test(rest[1])) throw new PromParseError(`bad timestamp '${rest[1]}' (metric ${name})`, lineNo);
      timestampMs = Number(rest[1]);
    }
    out.samples.push({ name, labels, value, timestampMs });
  }
  return out;
}
