/**
 * `carebox support-bundle [--output FILE] [--lines N]`: what a Carebox engineer needs to help,
 * and nothing a hospital may not share: a tar.gz with versions, the manifest, the rendered configs
 * with `.env` values redacted, preflight results (re-run now), container states, and the last N
 * log lines per container.
 *
 * Never patient data or secrets:
 * - `.env` values are replaced (only COMPOSE_PROJECT_NAME is kept);
 * - container states are built field by field (no `Config.Env`, no `Cmd`: Redis's command line
 *   carries its password);
 * - log lines lose request/response bodies and query fields (JSON lines), SQL statement text and
 *   bind parameters (PostgreSQL lines);
 * - record ids (and any other non-word path segment) in `/api/…` paths of every log line, nginx's
 *   access log included, are replaced by a keyed hash (see {@link hashRecordIds});
 * - finally every file is scrubbed of every secret value from `.env`, wherever it appears.
 * It still works when the stack is broken: what cannot be collected is listed in errors.json.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import * as tar from 'tar';
import type Docker from 'dockerode';
import { connectDocker } from '../../installer/runtime/docker.connect.js';
import { checkNewOutputFile, readIfExists, utcStamp } from '../../installer/apply/fs.atomic.js';
import { listStackContainers } from '../../installer/runtime/stack.containers.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import { detectHost } from '../../installer/detect/host.detect.js';
import { readManifest } from '../../installer/manifest/manifest.js';
import { INSTALL_FILES } from '../../installer/paths.js';
import { runPreflight } from '../../installer/preflight/preflight.checks.js';
import { CAREBOX_VERSION } from '../../installer/version.js';
import { decodeLogLines } from './logs.ops.js';
import { step } from './stack.js';
import { edgePorts } from '../../installer/apply/edge.tls.js';
import { ACCESS_LOG_FLUSH_WAIT_MS } from '../../installer/render/access-log.format.js';

/** .env keys whose values are not secret. */
const ENV_KEEP = new Set(['COMPOSE_PROJECT_NAME']);

/** JSON keys dropped from log lines wherever they appear: bodies and query data can hold patient data. */
export const DROPPED_LOG_KEYS = new Set(['body', 'reqBody', 'requestBody', 'resBody', 'responseBody', 'rawBody', 'payload', 'query', 'params', 'data']);

/** `.env` text with every value replaced by `[redacted]` (except COMPOSE_PROJECT_NAME); comments kept. Pure. */
export function redactEnv(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const m = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)(\s*=)(.*)$/.exec(line);
      if (!m || ENV_KEEP.has(m[2]!)) return line;
      return `${m[1]}${m[2]}${m[3]}[redacted]`;
    })
    .join('\n');
}

/** Secret values of a `.env` text: every value but COMPOSE_PROJECT_NAME's, at least 6 characters. Pure. */
export function envSecrets(text: string | null): { key: string; value: string }[] {
  if (!text) return [];
  const parsed = parseEnv(text) as Record<string, string>;
  return Object.entries(parsed)
    .filter(([k, v]) => !ENV_KEEP.has(k) && typeof v === 'string' && v.length >= 6)
    .map(([key, value]) => ({ key, value }))
    .sort((a, b) => b.value.length - a.value.length);
}

/** Replace every occurrence of every secret value by `[redacted:KEY]`. Pure. @returns text and count. */
export function scrubSecrets(text: string, secrets: { key: string; value: string }[]): { text: string; count: number } {
  let count = 0;
  let out = text;
  for (const s of secrets) {
    const parts = out.split(s.value);
    count += parts.length - 1;
    out = parts.join(`[redacted:${s.key}]`);
  }
  return { text: out, count };
}

function dropKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([k]) => !DROPPED_LOG_KEYS.has(k))
        .map(([k, x]) => [k, dropKeys(x)]),
    );
  }
  return v;
}

/**
 * One log line made safe to share: JSON lines lose body/query/payload fields at any depth; the
 * text after `statement:`, `execute …:`, `parameters:`, `STATEMENT:`, `DETAIL:`, `CONTEXT:`,
 * `QUERY:` and `HINT:` in PostgreSQL lines is replaced, and so are quoted values in ERROR, FATAL,
 * WARNING and PANIC messages; query strings in access-log style `"GET /path?x"` are cut. Pure.
 */
export function scrubLogLine(line: string): string {
  const trimmed = line.trim();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    try {
      return JSON.stringify(dropKeys(JSON.parse(trimmed)));
    } catch {
      /* not JSON after all */
    }
  }
  return (
    line
      .replace(/((?:statement|STATEMENT|execute [^:]*|parameters|DETAIL:\s+parameters)):\s.*$/, '$1: [redacted]')
      // PostgreSQL's DETAIL/CONTEXT/QUERY/HINT lines quote row values ("Key (mrn)=(MRN-0001) already exists").
      .replace(/\b(DETAIL|CONTEXT|QUERY|HINT):\s.*$/, '$1: [redacted]')
      // ERROR/FATAL/WARNING messages quote the offending input (`invalid input syntax for type date: "…"`).
      .replace(/\b(ERROR|FATAL|WARNING|PANIC):(.*)$/, (_m, level: string, rest: string) => `${level}:${rest.replace(/"[^"]*"/g, '"[redacted]"')}`)
      .replace(/("(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) [^"?\s]*)\?[^"\s]*/g, '$1')
  );
}

/** Path segments kept as they are: route words (`patients`, `reset-password`) and API versions (`v1`). */
const ROUTE_WORD = /^(?:[a-z]|[a-z][a-z-]*[a-z]|v\d+)$/;

/**
 * Replace the record identifiers in the API paths of a log line (nginx's `"GET /api/v1/patients/<id>"`,
 * the server's `"path":"/api/v1/patients/<id>"`) by a keyed hash: `id:` and the first 12 hex
 * digits of HMAC-SHA256(key, segment). Every path segment after `/api/` that is not a route word
 * (lower-case letters and dashes) or an API version is an identifier: UUIDs, numbers, an MRN typed
 * into a URL. The same id gives the same hash within one bundle (requests still correlate across
 * nginx and the backends), but without the key, which is random per bundle and never stored,
 * nobody can check whether a known record id appears. Query strings are not touched here
 * ({@link scrubLogLine} cuts them). Pure.
 * @param key the bundle's HMAC key (at least 16 random bytes).
 * @returns the line and the number of segments replaced.
 */
export function hashRecordIds(line: string, key: Buffer): { text: string; count: number } {
  let count = 0;
  const text = line.replace(/\/api\/[^\s"?#]*/g, (path) =>
    path
      .split('/')
      .map((seg, i) => {
        if (i < 2 || seg === '' || ROUTE_WORD.test(seg)) return seg;
        count++;
        return `id:${createHmac('sha256', key).update(seg).digest('hex').slice(0, 12)}`;
      })
      .join('/'),
  );
  return { text, count };
}

/** A JSON line as JSON.stringify writes it (the line itself when it is no JSON). */
function reserialized(line: string): string {
  try {
    return JSON.stringify(JSON.parse(line.trim()));
  } catch {
    return line;
  }
}

/** How many values a support bundle replaced, by kind (their sum is `redactions`). */
export interface SupportRedactions {
  /** `.env` values replaced by `[redacted]` in config/env.redacted. */
  envValues: number;
  /** Log lines that lost fields (bodies, query data, SQL text and parameters, quoted values). */
  logLines: number;
  /** Record ids in API paths replaced by a keyed hash. */
  recordIds: number;
  /** Secret values from `.env` found (and replaced) anywhere else: 0 is the expected case. */
  secretValues: number;
}

/** What a support bundle holds. */
export interface SupportBundleResult {
  file: string;
  bytes: number;
  /** Paths inside the archive. */
  contents: string[];
  /** Every value replaced in the bundle: the sum of {@link redactionsBy}. */
  redactions: number;
  redactionsBy: SupportRedactions;
  /** What could not be collected (the stack may be broken). */
  errors: string[];
}

/**
 * Write a support bundle for the install at `root`. Works without a manifest or a reachable
 * Docker engine (it records why in errors.json).
 * @param opts.lines log lines per container (default 1000).
 * @throws UsageError when --output names a missing directory or an existing file; NodeJS.ErrnoException only when the output cannot be written.
 */
export async function createSupportBundle(
  root: string,
  opts: { output?: string; lines?: number; env?: NodeJS.ProcessEnv },
  reporter: StepReporter,
): Promise<SupportBundleResult> {
  const env = opts.env ?? process.env;
  const lines = opts.lines ?? 1000;
  const output = resolve(opts.output ?? `carebox-support-${utcStamp()}.tar.gz`);
  await checkNewOutputFile(output);
  const tmp = await mkdtemp(join(tmpdir(), 'carebox-support-'));
  const dir = join(tmp, 'carebox-support');
  const errors: string[] = [];
  const by: SupportRedactions = { envValues: 0, logLines: 0, recordIds: 0, secretValues: 0 };
  const idKey = randomBytes(32);
  /** A log line as the bundle keeps it (fields dropped, ids hashed), counted. */
  const safeLine = (line: string): string => {
    const scrubbed = scrubLogLine(line);
    // A JSON line comes back re-serialized: count it only when a field was actually dropped.
    if (scrubbed !== line && scrubbed !== reserialized(line)) by.logLines++;
    const hashed = hashRecordIds(scrubbed, idKey);
    by.recordIds += hashed.count;
    return hashed.text;
  };
  const put = async (path: string, content: string) => {
    await fs.mkdir(join(dir, path, '..'), { recursive: true });
    await fs.writeFile(join(dir, path), content.endsWith('\n') ? content : `${content}\n`, { mode: 0o600 });
  };
  try {
    const manifest = await readManifest(root).catch((e: Error) => (errors.push(`carebox.json: ${e.message}`), null));
    const envText = await readIfExists(join(root, INSTALL_FILES.env));
    const secrets = envSecrets(envText);

    await step(reporter, 'config', 'Collect the manifest and the configuration (secrets redacted)', async () => {
      if (manifest) await put('carebox.json', JSON.stringify(manifest, null, 2));
      // Who changed the stack and how: no patient data, option values other than plain settings are redacted at write time.
      const ops = await readIfExists(join(root, INSTALL_FILES.operationsLog));
      if (ops !== null) await put(INSTALL_FILES.operationsLog, ops);
      for (const f of [INSTALL_FILES.compose, INSTALL_FILES.nginx, INSTALL_FILES.postgres, INSTALL_FILES.redis, INSTALL_FILES.pgbouncerIni]) {
        const t = await readIfExists(join(root, f));
        if (t !== null) await put(join('config', f), t);
      }
      if (envText !== null) {
        const redacted = redactEnv(envText);
        const before = envText.split('\n');
        by.envValues += redacted.split('\n').filter((l, i) => l !== before[i]).length;
        await put('config/env.redacted', redacted);
      }
      return 'collected';
    });

    const facts = await step(
      reporter,
      'preflight',
      'Re-run detection and preflight',
      async () => {
        const f = await detectHost({
          installRoot: root,
          ports: manifest ? edgePorts(manifest.http).map(({ port, bindAddress }) => ({ port, bindAddress })) : [],
          env,
          composeProject: manifest?.project ?? 'carebox',
        });
        const preflight = runPreflight({
          facts: f,
          tier: manifest?.plan.tier ?? null,
          plan: manifest?.plan ?? null,
          planError: manifest ? null : 'not installed',
          project: manifest?.project ?? 'carebox',
          httpsPort: manifest?.http.tls?.httpsPort ?? null,
        });
        await put('preflight.json', JSON.stringify({ facts: f, preflight }, null, 2));
        await put(
          'versions.json',
          JSON.stringify(
            {
              carebox: CAREBOX_VERSION,
              installed: manifest?.carebox.version ?? null,
              node: process.version,
              os: f.os,
              docker: { engine: f.docker.engineVersion, api: f.docker.apiVersion, negotiated: f.docker.negotiatedApiVersion, error: f.docker.error },
              compose: { flavour: f.compose.flavour, version: f.compose.version, error: f.compose.error },
            },
            null,
            2,
          ),
        );
        return f;
      },
      () => 'preflight.json, versions.json',
    );

    if (manifest) {
      await step(reporter, 'containers', `Container states and the last ${lines} log lines per container`, async () => {
        let docker: Docker;
        try {
          docker = (await connectDocker(env, facts.docker)).docker;
        } catch (e) {
          errors.push(`docker: ${(e as Error).message}`);
          return 'Docker unavailable';
        }
        const containers = await listStackContainers(docker, manifest.project, { includeOneoff: false });
        // nginx buffers its access log (flushed every second): wait for that, so the requests that
        // led to this bundle are in it.
        if (containers.some((c) => c.service === 'nginx' && c.state === 'running')) await new Promise((r) => setTimeout(r, ACCESS_LOG_FLUSH_WAIT_MS));
        const states = [];
        for (const c of containers) {
          const info = await docker
            .getContainer(c.id)
            .inspect()
            .catch((e: Error) => (errors.push(`inspect ${c.name}: ${e.message}`), null));
          states.push({
            service: c.service,
            number: c.number,
            id: c.id.slice(0, 12),
            image: c.image,
            state: c.state,
            health: c.health,
            status: c.status,
            restartCount: info?.RestartCount ?? null,
            exitCode: info?.State.ExitCode ?? null,
            oomKilled: info?.State.OOMKilled ?? null,
            startedAt: info?.State.StartedAt ?? null,
            finishedAt: info?.State.FinishedAt ?? null,
            error: info?.State.Error || null,
            healthLog: (info?.State.Health?.Log ?? [])
              .slice(-3)
              .map((h) => ({ start: h.Start, exitCode: h.ExitCode, output: safeLine(String(h.Output ?? '').slice(0, 500)) })),
            limits: info ? { nanoCpus: info.HostConfig.NanoCpus, memoryBytes: info.HostConfig.Memory } : null,
            configHash: c.configHash,
          });
          const out: string[] = [];
          try {
            const raw = await docker.getContainer(c.id).logs({ stdout: true, stderr: true, tail: lines, timestamps: true, follow: false });
            await decodeLogLines(raw, { service: c.service, replica: c.number, container: c.id.slice(0, 12) }, (l) =>
              out.push(`${l.time ?? ''} ${l.stream} ${safeLine(l.line)}`),
            );
          } catch (e) {
            errors.push(`logs ${c.name}: ${(e as Error).message}`);
          }
          await put(join('logs', `${c.service}-${c.number}.log`), out.join('\n'));
        }
        await put('containers.json', JSON.stringify(states, null, 2));
        return `${containers.length} containers`;
      });
    } else {
      errors.push(`no Carebox install at ${root}: no container states or logs`);
    }
    await put('errors.json', JSON.stringify(errors, null, 2));

    // Defence in depth: no secret value from .env may survive anywhere in the bundle.
    const contents: string[] = [];
    const walk = async (d: string) => {
      for (const e of await fs.readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else {
          const r = scrubSecrets(await fs.readFile(p, 'utf8'), secrets);
          by.secretValues += r.count;
          await fs.writeFile(p, r.text);
          contents.push(p.slice(dir.length + 1));
        }
      }
    };
    await walk(dir);
    await step(reporter, 'write', `Write ${output}`, async () => {
      await tar.c({ file: output, cwd: tmp, gzip: true, portable: true }, ['carebox-support']);
      await fs.chmod(output, 0o600);
      return output;
    });
    const redactions = by.envValues + by.logLines + by.recordIds + by.secretValues;
    return { file: output, bytes: (await fs.stat(output)).size, contents: contents.sort(), redactions, redactionsBy: by, errors };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
