import type Docker from 'dockerode';
import { chunksOf, FrameDemuxer, looksFramed } from './frame.demux.js';

/** One demultiplexed log line source. */
export type LogStream = 'stdout' | 'stderr';

/**
 * Demultiplex a whole buffer of Docker's log or exec output (the framed non-TTY format, or raw TTY
 * output and strings, passed through as stdout) with the one parser of that format,
 * {@link FrameDemuxer}. A truncated last frame is dropped. Pure.
 * @returns the text per stream, in order.
 */
export function demuxDockerLogs(input: Buffer | string): { frames: { stream: LogStream; text: string }[] } {
  const demux = new FrameDemuxer();
  const chunks = [...demux.push(input), ...(typeof input === 'string' || !looksFramed(input) ? demux.end() : [])];
  return { frames: chunks.map((c) => ({ stream: c.stream, text: c.data.toString('utf8') })) };
}

/**
 * The last `tail` log lines of a container as text (stdout and stderr interleaved as Docker
 * framed them). Accepts whatever dockerode returns: a Buffer, a string, or a stream.
 */
export async function containerLogTail(docker: Docker, id: string, tail: number): Promise<string> {
  const raw = (await docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown;
  const demux = new FrameDemuxer();
  const parts: Buffer[] = [];
  for await (const chunk of chunksOf(raw)) for (const c of demux.push(chunk)) parts.push(c.data);
  for (const c of demux.end()) parts.push(c.data);
  return Buffer.concat(parts).toString('utf8');
}
