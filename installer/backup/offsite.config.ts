/**
 * Off-host copies with restic: the repositories kept in carebox.json (`backups.offsite`), how each
 * is reached from a short-lived restic container, and the retention restic applies. Pure.
 *
 * Repositories (restic's own URL forms):
 *  - a local path (`/mnt/usb/carebox`, a USB disk or an NFS mount): bind-mounted at the same path;
 *  - SFTP (`sftp://user@host[:port]/absolute/path`): reached with OpenSSH and a key file the admin
 *    provides (`--ssh-key FILE`, mode 0600); the server's host key is pinned on first use in
 *    `<root>/restic/known_hosts` (StrictHostKeyChecking=accept-new);
 *  - restic's REST server (`rest:http(s)://[user:pass@]host[:port]/path`): the user and password
 *    never stay in the URL Carebox stores: they go to a credentials file (RESTIC_REST_USERNAME,
 *    RESTIC_REST_PASSWORD) and are composed into the URL only in the restic container's
 *    environment (RESTIC_REPOSITORY), never into argv, carebox.json or a log;
 *  - S3-compatible storage (`s3:http(s)://host[:port]/bucket[/prefix]`, or restic's
 *    `s3:host/bucket[/prefix]` for HTTPS): keys from a credentials file (AWS_ACCESS_KEY_ID,
 *    AWS_SECRET_ACCESS_KEY), passed to restic in its container's environment.
 * A credentials file is `KEY=VALUE` lines (or a JSON object) with only the keys of its kind, mode
 * 0600; `backup offsite add` keeps a copy in `<root>/secrets/restic-<name>.credentials` (0600).
 * The repository password is one secret for every repository (`<root>/secrets/restic-password`).
 */
import { isAbsolute } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { UsageError } from '../errors.js';

/** One restic repository in carebox.json. */
export const offsiteRepoSchema = z.object({
  /** Short name used in metrics labels and CLI (`usb`, `dr-site`). */
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/),
  /** A local absolute path, `sftp://…`, `rest:…` (without user and password) or `s3:…`. */
  url: z.string().min(2).max(512),
  /** SFTP only: absolute path of the private key file on the host (mode 0600). */
  sshKey: z.string().nullable().default(null),
  /** REST and S3: absolute path of the credentials file (`<root>/secrets/restic-<name>.credentials`, 0600); null: none. */
  credentialsFile: z.string().nullable().default(null),
});
export type OffsiteRepo = z.infer<typeof offsiteRepoSchema>;

/** Repository kinds. */
export type RepoKind = 'local' | 'sftp' | 'rest' | 's3';

/** How a repository is reached: restic's `-r` argument, bind mounts, extra restic options. */
export interface RepoAccess {
  kind: RepoKind;
  /** Value of `restic -r`, never with a password in it. */
  repository: string;
  /** Host paths the restic container needs at the same path (local repository). */
  sameBinds: string[];
  /** SFTP: user, host, port. */
  sftp: { user: string; host: string; port: number; path: string } | null;
  /** REST: the user and password the URL carried (`offsite add` moves them to a credentials file), else null. */
  urlCredentials: RepoCredentials | null;
  /** Docker network of the restic container: a local repository needs none; the others are reached like from the host. */
  network: 'none' | 'host';
}

/** Credentials of a REST or S3 repository, by the environment variable names restic (≥ 0.16 for REST) reads. */
export type RepoCredentials = Record<string, string>;

const secretValue = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[^\r\n\0]+$/, 'must be one line');
/** A REST server's HTTP basic auth (rest-server's htpasswd user). */
export const restCredentialsSchema = z
  .object({ RESTIC_REST_USERNAME: secretValue.regex(/^[^:]+$/, 'must not contain ":"'), RESTIC_REST_PASSWORD: secretValue })
  .strict();
/** An S3 access key. */
export const s3CredentialsSchema = z.object({ AWS_ACCESS_KEY_ID: secretValue, AWS_SECRET_ACCESS_KEY: secretValue }).strict();

const REST_FORM = 'use rest:http(s)://host[:port]/path (the user and password in --credentials-file)';
const S3_FORM = 'use s3:http(s)://host[:port]/bucket[/prefix] (or s3:host/bucket for HTTPS), with the keys in --credentials-file';
/** The parts of an HTTP(S) endpoint restic's REST and S3 backends take. */
const endpointSchema = z.object({
  protocol: z.enum(['http:', 'https:']),
  hostname: z.string().min(1).max(253),
  port: z
    .string()
    .regex(/^([1-9][0-9]{0,4})?$/)
    .refine((p) => p === '' || Number(p) <= 65535, 'port 1-65535'),
  search: z.literal('', { error: 'no ?query' }),
  hash: z.literal('', { error: 'no #fragment' }),
});
/** An S3 bucket name (AWS's rules, which S3-compatible servers follow). */
const bucketSchema = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a bucket name is 3-63 lower-case letters, digits, dots and hyphens');

function endpoint(url: string, rest: string, form: string): URL {
  let u: URL;
  try {
    u = new URL(rest);
  } catch {
    throw new UsageError(`repository ${redactUrl(url)}: not a URL`, form);
  }
  const r = endpointSchema.safeParse(u);
  if (!r.success) throw new UsageError(`repository ${redactUrl(url)}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, form);
  return u;
}

/** A URL with the password of its user part replaced by `***` (for messages and logs). Pure. */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:@\/\s]*):[^@\/\s]*@/gi, '$1:***@');
}

/**
 * Parse a repository URL. Pure.
 * @throws UsageError for a relative path, an unsupported scheme, an SFTP URL without user or path,
 *   a REST URL that is not http(s), or an S3 URL without a bucket or with a user part.
 */
export function repoAccess(url: string): RepoAccess {
  if (url.startsWith('sftp://')) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new UsageError(`repository ${url}: not a URL`, 'use sftp://user@host[:port]/absolute/path');
    }
    const path = decodeURIComponent(u.pathname);
    if (!u.username || !u.hostname || path.length < 2)
      throw new UsageError(`repository ${url}: needs a user, a host and a path`, 'use sftp://user@host[:port]/absolute/path');
    if (u.password) throw new UsageError(`repository ${redactUrl(url)}: SFTP logs in with a key, not a password`, 'give the private key with --ssh-key FILE');
    const port = u.port ? Number(u.port) : 22;
    return {
      kind: 'sftp',
      repository: `sftp:${u.username}@${u.hostname}:${path}`,
      sameBinds: [],
      sftp: { user: decodeURIComponent(u.username), host: u.hostname, port, path },
      urlCredentials: null,
      network: 'host',
    };
  }
  if (url.startsWith('rest:')) {
    const u = endpoint(url, url.slice(5), REST_FORM);
    if (Boolean(u.username) !== Boolean(u.password))
      throw new UsageError(`repository ${redactUrl(url)}: give both a user and a password, or neither`, REST_FORM);
    const urlCredentials = u.username
      ? restCredentialsSchema.parse({ RESTIC_REST_USERNAME: decodeURIComponent(u.username), RESTIC_REST_PASSWORD: decodeURIComponent(u.password) })
      : null;
    const path = u.pathname.replace(/\/+$/, '');
    return { kind: 'rest', repository: `rest:${u.protocol}//${u.host}${path}/`, sameBinds: [], sftp: null, urlCredentials, network: 'host' };
  }
  if (url.startsWith('s3:')) {
    const rest = url.slice(3);
    const u = endpoint(url, /^https?:\/\//.test(rest) ? rest : `https://${rest}`, S3_FORM);
    if (u.username || u.password) throw new UsageError(`repository ${redactUrl(url)}: S3 keys do not go in the URL`, S3_FORM);
    const [bucket = '', ...prefix] = decodeURIComponent(u.pathname).split('/').filter(Boolean);
    const b = bucketSchema.safeParse(bucket);
    if (!b.success) throw new UsageError(`repository ${url}: ${bucket ? `bucket ${bucket}: ${b.error.issues[0]!.message}` : 'needs a bucket'}`, S3_FORM);
    const where = [bucket, ...prefix].join('/');
    // restic's own forms: an explicit scheme as given, none for HTTPS.
    return {
      kind: 's3',
      repository: /^https?:\/\//.test(rest) ? `s3:${u.protocol}//${u.host}/${where}` : `s3:${u.host}/${where}`,
      sameBinds: [],
      sftp: null,
      urlCredentials: null,
      network: 'host',
    };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(url))
    throw new UsageError(
      `repository ${redactUrl(url)}: unknown kind`,
      'use an absolute local path, sftp://user@host/path, rest:http(s)://host:port/path or s3:http(s)://host:port/bucket/path',
    );
  if (!isAbsolute(url)) throw new UsageError(`repository ${url}: a local repository must be an absolute path`);
  return { kind: 'local', repository: url, sameBinds: [url], sftp: null, urlCredentials: null, network: 'none' };
}

/**
 * Parse and check a credentials file's text for a repository kind: `KEY=VALUE` lines (Node's
 * dotenv parser) or a JSON object, with exactly the keys of the kind. Pure.
 * @throws UsageError naming the keys expected (never echoing a value).
 */
export function parseRepoCredentials(text: string, kind: RepoKind, what = 'credentials file'): RepoCredentials {
  const schema = kind === 'rest' ? restCredentialsSchema : kind === 's3' ? s3CredentialsSchema : null;
  const keys = kind === 'rest' ? 'RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD' : 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  if (!schema) throw new UsageError(`a ${what} is for REST and S3 repositories only`);
  let raw: unknown;
  if (text.trimStart().startsWith('{')) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new UsageError(`${what}: not valid JSON`, `write ${keys} as KEY=VALUE lines`);
    }
  } else raw = parseEnv(text);
  const r = schema.safeParse(raw);
  // Issues name the key and the rule only; zod does not echo the value of a string check.
  if (!r.success)
    throw new UsageError(
      `${what}: ${r.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.code === 'unrecognized_keys' ? `unknown key(s) ${(i as { keys: string[] }).keys.join(', ')}` : i.message}`).join('; ')}`,
      `a ${kind === 'rest' ? 'REST' : 'S3'} repository takes ${keys} (KEY=VALUE lines, mode 0600)`,
    );
  return r.data;
}

/**
 * What the restic container gets for a repository: `-r` (null when the repository goes in the
 * environment) and environment entries. A REST repository with credentials is composed into
 * RESTIC_REPOSITORY (restic 0.14 reads the user and password from the URL only); S3 keys go to
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Pure.
 * @returns also `secrets`: the strings to mask in any output.
 */
export function repoEnvironment(access: RepoAccess, creds: RepoCredentials | null): { repositoryArg: string | null; env: string[]; secrets: string[] } {
  if (access.kind === 'rest' && creds) {
    const c = restCredentialsSchema.parse(creds);
    const withAuth = access.repository.replace(
      /^rest:(https?:\/\/)/,
      `rest:$1${encodeURIComponent(c.RESTIC_REST_USERNAME)}:${encodeURIComponent(c.RESTIC_REST_PASSWORD)}@`,
    );
    return { repositoryArg: null, env: [`RESTIC_REPOSITORY=${withAuth}`], secrets: [c.RESTIC_REST_PASSWORD, encodeURIComponent(c.RESTIC_REST_PASSWORD)] };
  }
  if (access.kind === 's3') {
    if (!creds) throw new UsageError(`repository ${access.repository} is S3: give its keys with --credentials-file FILE`);
    const c = s3CredentialsSchema.parse(creds);
    return {
      repositoryArg: access.repository,
      env: [`AWS_ACCESS_KEY_ID=${c.AWS_ACCESS_KEY_ID}`, `AWS_SECRET_ACCESS_KEY=${c.AWS_SECRET_ACCESS_KEY}`],
      secrets: [c.AWS_SECRET_ACCESS_KEY],
    };
  }
  return { repositoryArg: access.repository, env: [], secrets: [] };
}

/** Replace every occurrence of the given secrets (and URL passwords) in a text with `***`. Pure. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let t = redactUrl(text);
  for (const s of secrets) if (s.length >= 4) t = t.split(s).join('***');
  return t;
}

/**
 * The command restic uses to reach an SFTP repository (restic's `-o sftp.command=…`): OpenSSH in
 * batch mode with the given key, the pinned host keys, and the port. Pure.
 */
export function sftpCommand(s: NonNullable<RepoAccess['sftp']>, keyPath: string, knownHostsPath: string): string {
  return [
    'ssh',
    '-i',
    keyPath,
    '-p',
    String(s.port),
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=accept-new',
    '-o',
    `UserKnownHostsFile=${knownHostsPath}`,
    '-o',
    'ConnectTimeout=20',
    `${s.user}@${s.host}`,
    '-s',
    'sftp',
  ].join(' ');
}

/**
 * Retention of restic snapshots (GFS): the newest snapshot of each of the last 7 days, 4 weeks and
 * 12 months. restic computes which snapshots that keeps (`restic forget`), not Carebox.
 */
export const DEFAULT_RETENTION = { daily: 7, weekly: 4, monthly: 12 } as const;
export type Retention = { daily: number; weekly: number; monthly: number };

/** Tag every Carebox snapshot carries, so `forget` never touches other snapshots in a shared repository. */
export const SNAPSHOT_TAG = 'carebox';

/** `restic forget` arguments for a retention policy, pruning unreferenced data. Pure. */
export function forgetArgs(r: Retention = DEFAULT_RETENTION): string[] {
  for (const [k, v] of Object.entries(r)) if (!Number.isInteger(v) || v < 1) throw new UsageError(`retention ${k}=${v}: must be a whole number ≥ 1`);
  return ['forget', '--tag', SNAPSHOT_TAG, '--keep-daily', String(r.daily), '--keep-weekly', String(r.weekly), '--keep-monthly', String(r.monthly), '--prune'];
}
