import type Docker from 'dockerode';

/** One demultiplexed log line source. */
export type LogStream = 'stdout' | 'stderr';

/**
 * Demultiplex Docker's non-TTY log format: frames of an 8-byte header (byte 0 = stream: 1 stdout,
 * 2 stderr; bytes 4–7 = big-endian payload length) followed by the payload. Input that does not
 * start with a valid header (a TTY container, or a string) is returned as stdout text unchanged.
 * Pure.
 * @returns the text per stream in order, plus any incomplete trailing frame bytes in `rest`.
 */
export function demuxDockerLogs(input: Buffer | string): { frames: { stream: LogStream; text: string }[]; rest: Buffer } {
  if (typeof input === 'string') return { frames: input ? [{ stream: 'stdout', text: input }] : [], rest: Buffer.alloc(0) };
  const frames: { stream: LogStream; text: string }[] = [];
  let off = 0;
  const looksFramed = (o: number) => input.length - o >= 8 && (input[o] === 0 || input[o] === 1 || input[o] === 2) && input[o + 1] === 0 && input[o + 2] === 0 && input[o + 3] === 0;
  if (input.length > 0 && !looksFramed(0)) return { frames: [{ stream: 'stdout', text: input.toString('utf8') }], rest: Buffer.alloc(0) };
  while (looksFramed(off)) {
    const len = input.readUInt32BE(off + 4);
    if (input.length - off - 8 < len) break;
    frames.push({ stream: input[off] === 2 ? 'stderr' : 'stdout', text: input.subarray(off + 8, off + 8 + len).toString('utf8') });
    off += 8 + len;
  }
  return { frames, rest: input.subarray(off) };
}

/**
 * The last `tail` log lines of a container as text (stdout and stderr interleaved as Docker
 * framed them). Accepts whatever dockerode returns: a Buffer, a string, or a stream.
 */
export async function containerLogTail(docker: Docker, id: string, tail: number): Promise<string> {
  const raw = (await docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown;
  let buf: Buffer | string;
  if (Buffer.isBuffer(raw) || typeof raw === 'string') buf = raw;
  else {
    const chunks: Buffer[] = [];
    for await (const c of raw as AsyncIterable<Buffer | string>) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
    buf = Buffer.concat(chunks);
  }
  return demuxDockerLogs(buf).frames.map((f) => f.text).join('');
}
