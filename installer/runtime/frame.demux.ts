/**
 * Incremental demultiplexing of Docker's attach/log stream format, for streams that arrive in
 * arbitrary chunks (`logs --follow`, `exec` output). Frames are an 8-byte header (byte 0: 0 stdin,
 * 1 stdout, 2 stderr; bytes 1–3 zero; bytes 4–7 big-endian payload length) and the payload; a
 * header or payload may be split across chunks. A stream that does not start with a header (a TTY
 * container, a string) is passed through as stdout. Pure state machines, no I/O.
 */
import type { LogStream } from './container.logs.js';

/** One demultiplexed piece of output. */
export interface DemuxChunk {
  stream: LogStream;
  data: Buffer;
}

const HEADER = 8;

/** Whether `buf` starts with a frame header (else it is raw TTY output). Pure. */
export function looksFramed(buf: Buffer): boolean {
  return looksLikeHeader(buf, 0);
}

function looksLikeHeader(buf: Buffer, off: number): boolean {
  return buf.length - off >= HEADER && (buf[off] === 0 || buf[off] === 1 || buf[off] === 2) && buf[off + 1] === 0 && buf[off + 2] === 0 && buf[off + 3] === 0;
}

/**
 * Feeds chunks in, gets payloads out. Decides framed vs raw from the first 8 bytes (it waits for
 * them), then keeps partial frames across `push` calls.
 */
export class FrameDemuxer {
  private buf: Buffer = Buffer.alloc(0);
  private mode: 'unknown' | 'framed' | 'raw' = 'unknown';

  /** Add a chunk; returns the complete payloads it finished (possibly none). */
  push(chunk: Buffer | string): DemuxChunk[] {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (this.mode === 'raw') return data.length ? [{ stream: 'stdout', data }] : [];
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    if (this.mode === 'unknown') {
      if (this.buf.length < HEADER) return [];
      if (!looksLikeHeader(this.buf, 0)) {
        this.mode = 'raw';
        const all = this.buf;
        this.buf = Buffer.alloc(0);
        return [{ stream: 'stdout', data: all }];
      }
      this.mode = 'framed';
    }
    const out: DemuxChunk[] = [];
    let off = 0;
    while (this.buf.length - off >= HEADER) {
      if (!looksLikeHeader(this.buf, off)) {
        // Not a header where one must be: the stream is not what we thought; pass the rest through.
        this.mode = 'raw';
        out.push({ stream: 'stdout', data: this.buf.subarray(off) });
        off = this.buf.length;
        break;
      }
      const len = this.buf.readUInt32BE(off + 4);
      if (this.buf.length - off - HEADER < len) break;
      if (len > 0) out.push({ stream: this.buf[off] === 2 ? 'stderr' : 'stdout', data: this.buf.subarray(off + HEADER, off + HEADER + len) });
      off += HEADER + len;
    }
    this.buf = off === 0 ? this.buf : Buffer.from(this.buf.subarray(off));
    return out;
  }

  /** The stream ended: whatever is buffered (a short raw stream, a truncated frame) as stdout. */
  end(): DemuxChunk[] {
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    if (rest.length === 0) return [];
    if (this.mode === 'framed' && rest.length > HEADER) return [{ stream: rest[0] === 2 ? 'stderr' : 'stdout', data: rest.subarray(HEADER) }];
    return this.mode === 'framed' ? [] : [{ stream: 'stdout', data: rest }];
  }
}

/**
 * Splits a byte stream into lines (`\n`, a trailing `\r` dropped) without breaking multi-byte
 * UTF-8 characters that straddle chunks.
 */
export class LineSplitter {
  private partial: Buffer = Buffer.alloc(0);

  /** Add bytes; returns the complete lines. */
  push(data: Buffer): string[] {
    const buf = this.partial.length ? Buffer.concat([this.partial, data]) : data;
    const lines: string[] = [];
    let start = 0;
    for (let i = buf.indexOf(10, start); i !== -1; i = buf.indexOf(10, start)) {
      lines.push(buf.subarray(start, i).toString('utf8').replace(/\r$/, ''));
      start = i + 1;
    }
    this.partial = Buffer.from(buf.subarray(start));
    return lines;
  }

  /** The last line when the stream did not end with a newline, else nothing. */
  end(): string[] {
    const rest = this.partial;
    this.partial = Buffer.alloc(0);
    return rest.length ? [rest.toString('utf8').replace(/\r$/, '')] : [];
  }
}

/**
 * Normalize whatever dockerode returned for a log or exec call (a Buffer, a string, or a readable
 * stream) into an async iterable of chunks.
 */
export async function* chunksOf(raw: unknown): AsyncIterable<Buffer | string> {
  if (Buffer.isBuffer(raw) || typeof raw === 'string') {
    yield raw;
    return;
  }
  if (raw && typeof (raw as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    for await (const c of raw as AsyncIterable<Buffer | string>) yield c;
    return;
  }
  throw new TypeError(`unexpected Docker response type: ${typeof raw}`);
}
