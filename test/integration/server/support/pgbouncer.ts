/**
 * A real PgBouncer (Debian's /usr/sbin/pgbouncer) of our own for tests: transaction pooling in
 * front of the test PostgreSQL, on a free loopback port, with a small server pool so that clients
 * really share server connections. PgBouncer refuses to run as root, so as root it runs as the
 * `postgres` user (setpriv execs it: the child's pid is PgBouncer's). Stopped by that pid.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, testServices } from './services.js';

export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';

export class TestPgBouncer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** True when the pgbouncer binary is installed. */
  static available(): boolean {
    return existsSync(PGBOUNCER_BIN);
  }

  /**
   * Starts PgBouncer in transaction mode.
   * @param poolSize server connections per (database, user) pair.
   */
  static async start(poolSize = 2): Promise<TestPgBouncer> {
    const target = new URL(testServices().databaseUrl);
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'carebox-pgbouncer-'));
    const asRoot = process.getuid?.() === 0;
    writeFileSync(join(dir, 'userlist.txt'), `"${target.username}" "${decodeURIComponent(target.password)}"\n`);
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `* = host=${target.hostname} port=${target.port}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = plain',
        `auth_file = ${join(dir, 'userlist.txt')}`,
        'pool_mode = transaction',
        `default_pool_size = ${poolSize}`,
        'max_client_conn = 200',
        'server_reset_query =',
        `logfile = ${join(dir, 'pgbouncer.log')}`,
        `pidfile = ${join(dir, 'pgbouncer.pid')}`,
        '',
      ].join('\n'),
    );
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      for (const f of ['', 'userlist.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid);
    }
    const [cmd, args] = asRoot
      ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', PGBOUNCER_BIN, join(dir, 'pgbouncer.ini')]]
      : [PGBOUNCER_BIN, [join(dir, 'pgbouncer.ini')]];
    const child = spawn(cmd as string, args as string[], { stdio: 'ignore' });
    const bouncer = new TestPgBouncer(child, dir, port);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}: ${bouncer.log()}`);
      const open = await new Promise<boolean>((resolve) => {
        const socket = createConnection(port, '127.0.0.1');
        socket.once('connect', () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(false));
      });
      if (open) return bouncer;
      await new Promise((r) => setTimeout(r, 50));
    }
    await bouncer.stop();
    throw new Error(`pgbouncer did not listen within 10 s: ${bouncer.log()}`);
  }

  /** A connection URL to `database` through PgBouncer. */
  url(database: string, user?: string): string {
    const target = new URL(testServices().databaseUrl);
    const url = new URL(`postgres://127.0.0.1:${this.port}/${database}`);
    url.username = user ?? target.username;
    url.password = target.password;
    return url.toString();
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'pgbouncer.log'), 'utf8').slice(-2000);
    } catch {
      return '(no log)';
    }
  }

  /** Stops PgBouncer (SIGTERM to its pid, SIGKILL after 5 s) and removes its files. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
