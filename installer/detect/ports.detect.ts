/**
 * Whether the TCP ports the stack wants to publish are free, and who holds them when not.
 *
 * Sources, combined: a real `listen()` on the port (EADDRINUSE → taken); when listening is not
 * permitted (EACCES: a port below 1024 without root, which dockerd itself can still bind), the
 * kernel's listening sockets in `/proc/net/tcp` and `/proc/net/tcp6`; and the ports running
 * containers publish (Docker API), which also names the holder and catches ports Docker forwards
 * without a listening proxy (`userland-proxy: false`).
 */
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type Docker from 'dockerode';
import type { PortFact } from './host-facts.js';
import { callWithTimeout } from './docker.detect.js';

/** One listening TCP socket from `/proc/net/tcp{,6}`. */
export interface ListeningSocket {
  /** Dotted IPv4 or RFC 5952 IPv6 text (`0.0.0.0`, `127.0.0.1`, `::`, `::1`). */
  address: string;
  port: number;
}

/** Formats 16 bytes as RFC 5952 IPv6 text (longest zero run compressed). */
function formatIpv6(bytes: number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * Parses `/proc/net/tcp` or `/proc/net/tcp6` and returns the sockets in state LISTEN (`0A`).
 * Addresses are stored as 32-bit words in host byte order (little-endian on x86 and arm64). Pure;
 * malformed lines are skipped.
 */
export function parseProcNetTcp(text: string): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(f[1] ?? '');
    if (!m || f[3]?.toUpperCase() !== '0A') continue;
    const hex = m[1] as string;
    const bytes: number[] = [];
    for (let w = 0; w < hex.length; w += 8) {
      const word = hex.slice(w, w + 8);
      // Each word is little-endian: its last byte comes first in network order.
      for (let b = 6; b >= 0; b -= 2) bytes.push(Number.parseInt(word.slice(b, b + 2), 16));
    }
    const address = bytes.length === 4 ? bytes.join('.') : formatIpv6(bytes);
    out.push({ address, port: Number.parseInt(m[2] as string, 16) });
  }
  return out;
}

/** True for addresses that mean "every address": `0.0.0.0`, `::` and Docker's empty HostIp. */
function isWildcard(addr: string): boolean {
  return addr === '' || addr === '0.0.0.0' || addr === '::';
}

/** Whether a socket bound at `a` and one at `b` (same port) would clash. */
export function addressesOverlap(a: string, b: string): boolean {
  return a === b || isWildcard(a) || isWildcard(b);
}

/** A host port a running container publishes. */
export interface PublishedPort {
  port: number;
  hostIp: string;
  /** Container name without the leading slash. */
  container: string;
  /** `com.docker.compose.project` label, or null for a container not started by Compose. */
  project: string | null;
}

/** The published TCP ports of `docker ps` output (dockerode `listContainers`). Pure. */
export function publishedPorts(containers: readonly Docker.ContainerInfo[]): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const c of containers) {
    const name = (c.Names?.[0] ?? c.Id?.slice(0, 12) ?? 'unknown').replace(/^\//, '');
    const project = c.Labels?.['com.docker.compose.project'] ?? null;
    for (const p of c.Ports ?? []) {
      if (typeof p.PublicPort !== 'number' || (p.Type && p.Type !== 'tcp')) continue;
      out.push({ port: p.PublicPort, hostIp: p.IP ?? '', container: name, project });
    }
  }
  return out;
}

/**
 * Names who holds `port` on `bindAddress` among published container ports: the stack's own
 * Compose project name when it is ours (so a re-install knows the port is its own), else
 * `container NAME (Compose project P)`. Pure.
 */
export function portHolder(port: number, bindAddress: string, published: readonly PublishedPort[], stackProject: string): string | null {
  const hit = published.find((p) => p.port === port && addressesOverlap(p.hostIp, bindAddress));
  if (hit === undefined) return null;
  if (hit.project === stackProject) return stackProject;
  return `container ${hit.container}${hit.project !== null ? ` (Compose project ${hit.project})` : ''}`;
}

/** Outcome of one listen() attempt: free, taken, or could not tell (with the errno). */
export type ListenProbe = { result: 'free' } | { result: 'taken' | 'unknown'; code: string };

/**
 * Tries to listen on `port` at `bindAddress` and closes at once.
 *
 * @returns `free`, `taken` (EADDRINUSE), or `unknown` with the errno (EACCES for a privileged
 *   port, EADDRNOTAVAIL for an address this host does not have, ETIMEDOUT, ERR_SOCKET_BAD_PORT).
 *   Never throws.
 */
export function probeListen(port: number, bindAddress: string, timeoutMs = 2000): Promise<ListenProbe> {
  return new Promise((resolve) => {
    const server = net.createServer();
    const timer = setTimeout(() => {
      server.close();
      resolve({ result: 'unknown', code: 'ETIMEDOUT' });
    }, timeoutMs);
    timer.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = err.code ?? 'ERROR';
      resolve(code === 'EADDRINUSE' ? { result: 'taken', code } : { result: 'unknown', code });
    });
    server.once('listening', () => {
      clearTimeout(timer);
      server.close(() => resolve({ result: 'free' }));
    });
    try {
      server.listen({ port, host: bindAddress, exclusive: true });
    } catch (err) {
      // listen() throws synchronously for an out-of-range port or a malformed address.
      clearTimeout(timer);
      resolve({ result: 'unknown', code: (err as NodeJS.ErrnoException).code ?? 'EINVAL' });
    }
  });
}

/** Options for {@link detectPorts}. */
export interface PortDetectOptions {
  /** A dockerode client (see `dockerClient`), to name containers that publish the ports; null to skip. */
  docker?: Docker | null;
  /** The stack's Compose project name (default `carebox`); its own ports are reported as held by it. */
  composeProject?: string;
  /** Prefix for `/proc/net/tcp{,6}` (default `/`). */
  fsRoot?: string;
  /** Bound for each probe and the Docker call, ms (default 2000). */
  timeoutMs?: number;
}

/**
 * Checks each wanted port.
 *
 * @param ports the ports the stack will publish, each with its bind address (`0.0.0.0`, `127.0.0.1`).
 * @returns one PortFact per input, in order. `free` is false when something listens there, a
 *   container publishes it, or the probe could not tell and /proc shows a listener; `heldBy` names
 *   a container when Docker knows one; `reason` carries the errno. Never throws.
 */
export async function detectPorts(ports: readonly { port: number; bindAddress: string }[], opts: PortDetectOptions = {}): Promise<PortFact[]> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const stackProject = opts.composeProject ?? 'carebox';
  let published: PublishedPort[] = [];
  let dockerNote = '';
  if (opts.docker) {
    const docker = opts.docker;
    try {
      const list = await callWithTimeout(
        (signal) =>
          (docker.listContainers as unknown as (o: { abortSignal: AbortSignal }) => Promise<Docker.ContainerInfo[]>).call(docker, {
            abortSignal: signal,
          }),
        timeoutMs,
        'Docker container list',
      );
      published = publishedPorts(list);
      dockerNote = ' + Docker published ports';
    } catch {
      dockerNote = ' (Docker container list failed)';
    }
  }
  let listeners: ListeningSocket[] | null = null;
  const procListeners = async (): Promise<ListeningSocket[]> => {
    if (listeners !== null) return listeners;
    const root = opts.fsRoot ?? '/';
    const texts = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((p) => readFile(posix.join(root, p), 'utf8').catch(() => '')));
    listeners = texts.flatMap(parseProcNetTcp);
    return listeners;
  };

  const out: PortFact[] = [];
  for (const { port, bindAddress } of ports) {
    const holder = portHolder(port, bindAddress, published, stackProject);
    const probe = await probeListen(port, bindAddress, timeoutMs);
    let free: boolean;
    let source = `listen() probe${dockerNote}`;
    let reason: string | null = null;
    if (probe.result === 'free') {
      free = holder === null;
      if (!free) reason = 'published by a container without a listening proxy';
    } else if (probe.result === 'taken') {
      free = false;
      reason = probe.code;
    } else if (probe.code === 'EACCES' || probe.code === 'EPERM') {
      const listening = (await procListeners()).some((l) => l.port === port && addressesOverlap(l.address, bindAddress));
      free = !listening && holder === null;
      source = `/proc/net/tcp listeners (listen() not permitted: ${probe.code})${dockerNote}`;
      reason = listening ? 'a socket listens on it' : holder !== null ? 'published by a container' : null;
    } else {
      free = false;
      reason = probe.code === 'EADDRNOTAVAIL' ? `EADDRNOTAVAIL: ${bindAddress} is not an address of this host` : probe.code;
    }
    out.push({ port, bindAddress, free, heldBy: holder, source, reason });
  }
  return out;
}
