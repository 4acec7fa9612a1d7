/**
 * `docker exec` through the Docker API: run a command inside a running container, feed it stdin
 * (a string, a Buffer or a stream, e.g. a dump file), and capture or stream its output.
 */
import type { Readable, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { OperationError } from '../errors.js';
import { FrameDemuxer } from './frame.demux.js';

/** What an exec produced. `stdout` is empty when it was streamed to `opts.stdout`. */
export interface ExecOutput {
  /** The command's exit code (-1 when Docker did not report one). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link execIn}. */
export interface ExecInOptions {
  /** Extra environment, `KEY=value` strings. */
  env?: string[];
  /** User inside the container (`postgres`, `1000:1000`); the image's default when absent. */
  user?: string;
  /** Data written to the command's stdin, then stdin is closed. */
  stdin?: string | Buffer | Readable;
  /** Stream stdout here instead of capturing it (large output: pg_dump). Not ended by execIn. */
  stdout?: Writable;
  /** Kill the wait after this many ms (default 10 minutes); the exec is abandoned, not killed. */
  timeoutMs?: number;
  /** Captured stderr/stdout is cut to this many bytes (default 4 MiB) to bound memory. */
  maxCaptureBytes?: number;
}

/**
 * Run `argv` in container `id` and wait for it to finish.
 * @returns exit code and captured output; a non-zero exit is returned, not thrown.
 * @throws OperationError when the container is not running, the exec cannot start, or it times out.
 */
export async function execIn(docker: Docker, id: string, argv: string[], opts: ExecInOptions = {}): Promise<ExecOutput> {
  const withStdin = opts.stdin !== undefined;
  let exec: Docker.Exec;
  try {
    exec = await docker.getContainer(id).exec({
      Cmd: argv,
      AttachStdin: withStdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      ...(opts.env ? { Env: opts.env } : {}),
      ...(opts.user ? { User: opts.user } : {}),
    });
  } catch (err) {
    throw new OperationError(
      `cannot run \`${argv.join(' ')}\` in container ${id.slice(0, 12)}: ${(err as Error).message.split('\n')[0]}`,
      'check that the container is running (`carebox status`)',
      err,
    );
  }
  const stream = (await exec.start({ hijack: true, stdin: withStdin })) as unknown as NodeJS.ReadWriteStream & { destroy(): void };
  const max = opts.maxCaptureBytes ?? 4 * 1024 * 1024;
  const out: Buffer[] = [];
  const errOut: Buffer[] = [];
  let outBytes = 0;
  let errBytes = 0;
  const demux = new FrameDemuxer();
  const sink = (chunks: ReturnType<FrameDemuxer['push']>): boolean => {
    let flowing = true;
    for (const c of chunks) {
      if (c.stream === 'stderr') {
        if (errBytes < max) errOut.push(c.data);
        errBytes += c.data.length;
      } else if (opts.stdout) {
        // Copy: the demuxer's payload may be a view into a buffer it reuses.
        flowing = opts.stdout.write(Buffer.from(c.data)) && flowing;
      } else {
        if (outBytes < max) out.push(c.data);
        outBytes += c.data.length;
      }
    }
    return flowing;
  };
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      // Back-pressure: pause the socket while the file writer catches up.
      if (!sink(demux.push(chunk)) && opts.stdout) {
        stream.pause();
        opts.stdout.once('drain', () => stream.resume());
      }
    });
    stream.on('end', () => resolve());
    stream.on('close', () => resolve());
    stream.on('error', reject);
    opts.stdout?.on('error', reject);
  });
  if (withStdin) {
    const input = opts.stdin!;
    if (typeof input === 'string' || Buffer.isBuffer(input)) {
      stream.write(input);
      stream.end();
    } else {
      input.on('error', (e) => stream.emit('error', e));
      input.pipe(stream as unknown as Writable);
    }
  }
  const timeoutMs = opts.timeoutMs ?? 600_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const r = await Promise.race([done.then(() => 'done' as const), timedOut]);
  clearTimeout(timer);
  if (r === 'timeout') {
    stream.destroy();
    throw new OperationError(`\`${argv.join(' ')}\` in container ${id.slice(0, 12)} did not finish within ${Math.round(timeoutMs / 1000)} s`);
  }
  sink(demux.end());
  // The exit code is set once the process is reaped; poll briefly.
  let code = -1;
  for (let i = 0; i < 50; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) {
      code = info.ExitCode;
      break;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') };
}

/**
 * {@link execIn} that throws on a non-zero exit.
 * @throws OperationError naming the command, its exit code and the tail of its stderr.
 */
export async function execOk(docker: Docker, id: string, argv: string[], opts: ExecInOptions = {}, hint: string | null = null): Promise<ExecOutput> {
  const r = await execIn(docker, id, argv, opts);
  if (r.code !== 0) {
    const tail = (r.stderr || r.stdout).trim().split('\n').slice(-8).join('\n');
    throw new OperationError(`\`${argv.join(' ')}\` failed in container ${id.slice(0, 12)} (exit ${r.code})${tail ? `:\n${tail}` : ''}`, hint);
  }
  return r;
}
