/**
 * `carebox logs SERVICE`: the logs of every replica of a service, demultiplexed (Docker's 8-byte
 * frame headers removed), one line at a time, each tagged with its replica number. Without
 * `follow`, the last `tail` lines of each replica are merged in time order (Docker's timestamps);
 * with `follow`, lines stream as they come, and replicas that appear later (a scale, a rolling
 * restart) are picked up.
 */
import type Docker from 'dockerode';
import type { LogStream } from '../../installer/runtime/container.logs.js';
import { listStackContainers, type StackContainer } from '../../installer/runtime/stack.containers.js';
import type { Manifest } from '../../installer/manifest/manifest.js';
import { chunksOf, FrameDemuxer, LineSplitter } from '../../installer/runtime/frame.demux.js';
import { assertService } from './stack.js';

/** One log line of one replica. */
export interface LogLine {
  service: string;
  /** Replica number (Compose's container-number label). */
  replica: number;
  /** First 12 hex digits of the container id. */
  container: string;
  stream: LogStream;
  /** Docker's RFC 3339 timestamp of the line (nanoseconds), or null when Docker gave none. */
  time: string | null;
  /** The line without its newline. */
  line: string;
}

/** Options of {@link serviceLogs}. */
export interface LogsOptions {
  service: string;
  /** Lines per replica from the end of its log (default 100; 0 with follow: only new lines). */
  tail: number;
  follow: boolean;
  /** Stop following when aborted (Ctrl-C, the dashboard closing the view). */
  signal?: AbortSignal;
  /** How often `follow` looks for new replicas, ms (default 2000). */
  discoverIntervalMs?: number;
}

/** What a logs run saw. */
export interface LogsResult {
  service: string;
  /** Replicas read from, by number. */
  replicas: number[];
  /** Lines delivered to the callback. */
  lines: number;
}

/** Split Docker's `timestamps: true` prefix off a line: `2026-…Z text` → time and text. Pure. */
export function splitTimestamp(line: string): { time: string | null; text: string } {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ?(.*)$/s.exec(line);
  return m ? { time: m[1]!, text: m[2]! } : { time: null, text: line };
}

/**
 * Decode one replica's log output (whatever dockerode returned: Buffer, string or stream) into
 * lines. Docker's timestamps are split off into `time`.
 */
export async function decodeLogLines(
  raw: unknown,
  meta: { service: string; replica: number; container: string },
  onLine: (l: LogLine) => void,
): Promise<number> {
  const demux = new FrameDemuxer();
  const splitters: Record<LogStream, LineSplitter> = { stdout: new LineSplitter(), stderr: new LineSplitter() };
  let n = 0;
  const emit = (stream: LogStream, lines: string[]) => {
    for (const l of lines) {
      const { time, text } = splitTimestamp(l);
      onLine({ ...meta, stream, time, line: text });
      n++;
    }
  };
  for await (const chunk of chunksOf(raw)) for (const c of demux.push(chunk)) emit(c.stream, splitters[c.stream].push(c.data));
  for (const c of demux.end()) emit(c.stream, splitters[c.stream].push(c.data));
  emit('stdout', splitters.stdout.end());
  emit('stderr', splitters.stderr.end());
  return n;
}

/** Merge per-replica line lists by timestamp (stable; lines without one keep their place). Pure. */
export function mergeByTime(lists: LogLine[][]): LogLine[] {
  const all = lists.flatMap((l, i) => l.map((x, j) => ({ x, i, j })));
  return all
    .sort((a, b) => {
      const ta = a.x.time ?? '';
      const tb = b.x.time ?? '';
      if (ta && tb && ta !== tb) return ta < tb ? -1 : 1;
      return a.i - b.i || a.j - b.j;
    })
    .map((e) => e.x);
}

function meta(c: StackContainer) {
  return { service: c.service, replica: c.number, container: c.id.slice(0, 12) };
}

/**
 * Read the logs of every replica of `opts.service` and hand each line to `onLine`.
 * Without follow it resolves when every replica's tail was delivered (merged in time order);
 * with follow it resolves when `opts.signal` aborts.
 * @throws UsageError for a service the stack does not have.
 */
export async function serviceLogs(docker: Docker, m: Manifest, opts: LogsOptions, onLine: (l: LogLine) => void): Promise<LogsResult> {
  assertService(m, opts.service);
  const containers = (await listStackContainers(docker, m.project)).filter((c) => c.service === opts.service);
  const result: LogsResult = { service: opts.service, replicas: containers.map((c) => c.number), lines: 0 };
  if (!opts.follow) {
    const lists = await Promise.all(
      containers.map(async (c) => {
        const lines: LogLine[] = [];
        const raw = await docker.getContainer(c.id).logs({ stdout: true, stderr: true, tail: opts.tail, timestamps: true, follow: false });
        await decodeLogLines(raw, meta(c), (l) => lines.push(l));
        return lines;
      }),
    );
    for (const l of mergeByTime(lists)) {
      onLine(l);
      result.lines++;
    }
    return result;
  }

  const followed = new Map<string, Promise<void>>();
  const streams = new Set<{ destroy(): void }>();
  const deliver = (l: LogLine) => {
    result.lines++;
    onLine(l);
  };
  const follow = (c: StackContainer, tail: number) => {
    if (followed.has(c.id)) return;
    if (!result.replicas.includes(c.number)) result.replicas.push(c.number);
    const p = (async () => {
      try {
        const raw = (await docker.getContainer(c.id).logs({ stdout: true, stderr: true, tail, timestamps: true, follow: true })) as unknown;
        if (raw && typeof (raw as { destroy?: unknown }).destroy === 'function') streams.add(raw as { destroy(): void });
        if (opts.signal?.aborted) (raw as { destroy?: () => void }).destroy?.();
        await decodeLogLines(raw, meta(c), deliver);
      } catch {
        // A container removed while followed ends its stream; nothing to report.
      }
    })();
    followed.set(c.id, p);
  };
  for (const c of containers) follow(c, opts.tail);
  await new Promise<void>((resolve) => {
    if (opts.signal?.aborted) return resolve();
    const timer = setInterval(() => {
      void listStackContainers(docker, m.project)
        .then((cs) => cs.filter((c) => c.service === opts.service && c.state === 'running').forEach((c) => follow(c, opts.tail)))
        .catch(() => undefined);
    }, opts.discoverIntervalMs ?? 2000);
    opts.signal?.addEventListener('abort', () => {
      clearInterval(timer);
      resolve();
    });
  });
  for (const s of streams) s.destroy();
  return result;
}

/** A line as `logs` prints it: `backend#2 | text` (with the time when asked). Pure. */
export function formatLogLine(l: LogLine, opts: { timestamps: boolean } = { timestamps: false }): string {
  return `${l.service}#${l.replica} | ${opts.timestamps && l.time ? `${l.time} ` : ''}${l.line}`;
}
