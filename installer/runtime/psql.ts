/**
 * SQL inside the stack's `db` container through `docker exec psql`: no host client, no published
 * port, no password on a command line (the image's local socket trusts local connections, as the
 * official postgres image does).
 */
import type Docker from 'dockerode';
import { OperationError } from '../errors.js';
import { FrameDemuxer, LineSplitter } from './frame.demux.js';
import { execIn } from './container.exec.js';

/** Database and role the compose template creates (POSTGRES_DB / POSTGRES_USER). */
export const DB_NAME = 'carebox';
export const DB_USER = 'carebox';

/** Field separator of psql's unaligned output: the ASCII unit separator, never in identifiers. */
const SEP = '\x1f';
const PSQL = ['psql', '-X', '-q', '-At', '-F', SEP, '-v', 'ON_ERROR_STOP=1', '-U', DB_USER, '-d', DB_NAME];
const psqlOn = (database: string, user: string = DB_USER) => PSQL.map((a, i) => (i === PSQL.length - 1 ? database : i === PSQL.length - 3 ? user : a));

/**
 * Run SQL (may hold several statements and psql meta-commands such as `\gexec`) and return the
 * rows of its output, each split into fields.
 * @throws OperationError with psql's message when it fails.
 */
export async function psqlRows(
  docker: Docker,
  dbId: string,
  sql: string,
  opts: { timeoutMs?: number; database?: string /** role to connect as (local socket); default the superuser */; user?: string } = {},
): Promise<string[][]> {
  const r = await execIn(docker, dbId, psqlOn(opts.database ?? DB_NAME, opts.user), {
    stdin: sql.endsWith('\n') ? sql : `${sql}\n`,
    timeoutMs: opts.timeoutMs ?? 120_000,
  });
  if (r.code !== 0)
    throw new OperationError(
      `psql failed in the db container (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-4).join(' ')}`,
      'check `carebox logs db`',
    );
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(SEP));
}

/** `server_version_num` of the running server, e.g. 150010 for 15.10. */
export async function serverVersionNum(docker: Docker, dbId: string): Promise<number> {
  const rows = await psqlRows(docker, dbId, 'SHOW server_version_num;');
  const n = Number(rows[0]?.[0]);
  if (!Number.isInteger(n) || n <= 0) throw new OperationError(`unexpected server_version_num: ${rows[0]?.[0] ?? '(none)'}`);
  return n;
}

/** Major version from a server_version_num: 150010 → "15", 90624 → "9.6" (before 10, majors had two parts). Pure. */
export function pgMajor(versionNum: number): string {
  return versionNum >= 100000 ? String(Math.floor(versionNum / 10000)) : `${Math.floor(versionNum / 10000)}.${Math.floor(versionNum / 100) % 100}`;
}

/** Major version from `postgres --version` output (`postgres (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)`), or null. Pure. */
export function pgMajorFromVersionText(text: string): string | null {
  const m = /PostgreSQL\)?\s+(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return null;
  const major = Number(m[1]);
  return major >= 10 ? String(major) : `${major}.${m[2] ?? '0'}`;
}

/** SQL that prints `schema.table<SEP>count` for every user table, exactly (count(*)), sorted. */
export const ROW_COUNTS_SQL =
  "SELECT format('SELECT %L, count(*) FROM %I.%I', schemaname || '.' || tablename, schemaname, tablename) " +
  "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 \\gexec";

/**
 * Session settings that fix how values print as text, so a row hashes to the same value in the
 * stack's database and in a scratch restore (time zone, date and interval styles, float digits).
 */
export const CANONICAL_TEXT_SQL =
  "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex';";

/**
 * SQL that prints `schema.table<SEP>checksum` for every user table, sorted: the sum over its rows
 * of the first 60 bits of md5(row as text), as a decimal. A sum does not depend on row order and
 * needs constant memory (unlike string_agg); duplicate rows still count (unlike XOR). Run it after
 * {@link CANONICAL_TEXT_SQL} in the same session, and in the dump's snapshot.
 */
export const TABLE_CHECKSUMS_SQL =
  "SELECT format('SELECT %L, coalesce(sum((''x'' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0) FROM %I.%I t', schemaname || '.' || tablename, schemaname, tablename) " +
  "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 \\gexec";

/** Parse rows of {@link TABLE_CHECKSUMS_SQL} into `{ "public.patients": "812…" }`. Pure. */
export function parseChecksums(rows: string[][]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [table, sum] of rows) if (table !== undefined && sum !== undefined && /^\d+$/.test(sum)) out[table] = sum;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Parse rows of {@link ROW_COUNTS_SQL} into `{ "public.patients": 3 }`. Pure. */
export function parseRowCounts(rows: string[][]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [table, n] of rows) if (table !== undefined && n !== undefined && /^\d+$/.test(n)) out[table] = Number(n);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Exact row counts of every user table, keyed `schema.table`. */
export async function tableRowCounts(docker: Docker, dbId: string): Promise<Record<string, number>> {
  return parseRowCounts(await psqlRows(docker, dbId, ROW_COUNTS_SQL, { timeoutMs: 30 * 60_000 }));
}

/**
 * An open psql session (one connection, one transaction if you begin one), for work that must
 * share a snapshot: `BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT pg_export_snapshot();` then
 * `pg_dump --snapshot=…` elsewhere while this session counts rows in the same snapshot.
 */
export class PsqlSession {
  private lines: string[] = [];
  private waiters: (() => void)[] = [];
  private ended = false;
  private stderr = '';
  private seq = 0;

  private constructor(
    private readonly stream: NodeJS.ReadWriteStream,
    private readonly exec: Docker.Exec,
  ) {
    const demux = new FrameDemuxer();
    const out = new LineSplitter();
    const wake = () => this.waiters.splice(0).forEach((w) => w());
    stream.on('data', (chunk: Buffer) => {
      for (const c of demux.push(chunk)) {
        if (c.stream === 'stderr') this.stderr += c.data.toString('utf8');
        else this.lines.push(...out.push(c.data));
      }
      wake();
    });
    const finish = () => {
      this.ended = true;
      wake();
    };
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  }

  /** Open a session in the db container. @throws OperationError when the exec cannot start. */
  static async open(docker: Docker, dbId: string): Promise<PsqlSession> {
    try {
      const exec = await docker.getContainer(dbId).exec({ Cmd: PSQL, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false });
      const stream = (await exec.start({ hijack: true, stdin: true })) as unknown as NodeJS.ReadWriteStream;
      return new PsqlSession(stream, exec);
    } catch (err) {
      throw new OperationError(`cannot open a psql session in the db container: ${(err as Error).message.split('\n')[0]}`, 'check `carebox status`', err);
    }
  }

  /**
   * Run SQL in the session and return its output rows. A marker echoed after the SQL tells where
   * its output ends.
   * @throws OperationError when psql stops (ON_ERROR_STOP) with its message.
   */
  async query(sql: string, timeoutMs = 30 * 60_000): Promise<string[][]> {
    const marker = `__carebox_end_${++this.seq}_${process.pid}__`;
    this.stream.write(`${sql.trimEnd()}\n\\echo ${marker}\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const idx = this.lines.indexOf(marker);
      if (idx !== -1) {
        const rows = this.lines.splice(0, idx + 1).slice(0, idx);
        return rows.filter((l) => l !== '').map((l) => l.split(SEP));
      }
      if (this.ended) throw new OperationError(`psql session ended: ${this.stderr.trim().split('\n').slice(-4).join(' ') || 'no output'}`);
      if (Date.now() > deadline) throw new OperationError(`psql session query timed out after ${Math.round(timeoutMs / 1000)} s`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, 1000);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** End the session (closes stdin; psql exits). Returns psql's exit code. */
  async close(): Promise<number> {
    if (!this.ended) {
      this.stream.end();
      const deadline = Date.now() + 10_000;
      while (!this.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
    const info = await this.exec.inspect().catch(() => null);
    return info?.ExitCode ?? -1;
  }
}
