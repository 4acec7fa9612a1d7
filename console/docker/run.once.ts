/**
 * A short-lived container through the Docker API (dockerode): create, attach, start, wait, collect
 * its output, remove, also when it fails or times out. For tools Carebox runs from an image so the
 * host needs only Docker (restic, a scratch PostgreSQL's client steps).
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { OperationError } from '../../installer/errors.js';

/** What to run. */
export interface RunOnceSpec {
  image: string;
  /** Arguments after the image's entrypoint. */
  cmd: string[];
  env?: string[];
  /** `host:container[:ro]` bind mounts. */
  binds?: string[];
  /** Docker network mode (`host`, `none`, a network name); default `none`. */
  network?: string;
  /** Memory limit, bytes (default 512 MiB). */
  memoryBytes?: number;
  labels?: Record<string, string>;
  /** Kill after this long, ms (default 30 min). */
  timeoutMs?: number;
  /** Each line of stderr as it arrives (progress). */
  onStderr?: (line: string) => void;
}

/** Exit code and output (stdout capped at 64 MiB, stderr at 1 MiB). */
export interface RunOnceResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a container to completion and remove it.
 * @throws OperationError when the image is missing, the container cannot start, or it timed out
 *   (it is removed in every case).
 */
export async function runOnce(docker: Docker, spec: RunOnceSpec): Promise<RunOnceResult> {
  let container: Docker.Container;
  try {
    container = await docker.createContainer({
      Image: spec.image,
      Cmd: spec.cmd,
      Env: spec.env ?? [],
      Labels: { 'com.carebox.role': 'run-once', ...(spec.labels ?? {}) },
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        Binds: spec.binds ?? [],
        NetworkMode: spec.network ?? 'none',
        Memory: spec.memoryBytes ?? 512 * 1024 * 1024,
        SecurityOpt: ['no-new-privileges:true'],
      },
    });
  } catch (err) {
    throw new OperationError(
      `cannot create a container from ${spec.image}: ${(err as Error).message}`,
      `check that the image exists (docker image ls ${spec.image.split(':')[0]})`,
    );
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    const err = new PassThrough();
    const outChunks: Buffer[] = [];
    let outBytes = 0;
    let errText = '';
    let errLine = '';
    out.on('data', (b: Buffer) => {
      if (outBytes < 64 * 1024 * 1024) outChunks.push(b);
      outBytes += b.length;
    });
    err.on('data', (b: Buffer) => {
      const s = b.toString('utf8');
      if (errText.length < 1024 * 1024) errText += s;
      errLine += s;
      const lines = errLine.split(/\r?\n|\r/);
      errLine = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) spec.onStderr?.(l);
    });
    docker.modem.demuxStream(stream, out, err);
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    await container.start();
    let timedOut = false;
    timer = setTimeout(
      () => {
        timedOut = true;
        container.kill().catch(() => undefined);
      },
      spec.timeoutMs ?? 30 * 60_000,
    );
    const r = (await container.wait()) as { StatusCode: number };
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2000))]);
    if (timedOut)
      throw new OperationError(`${spec.image} ${spec.cmd[0] ?? ''} did not finish within ${Math.round((spec.timeoutMs ?? 0) / 1000)} s and was stopped`);
    return { code: r.StatusCode, stdout: Buffer.concat(outChunks).toString('utf8'), stderr: errText };
  } finally {
    if (timer) clearTimeout(timer);
    await container.remove({ force: true }).catch(() => undefined);
  }
}
