/**
 * A Docker socket the user may not open gets an actionable message through real CLI verbs, never
 * a stack trace. The built CLI runs as uid/gid 65534 (nobody) with DOCKER_HOST pointing at a unix
 * socket owned by root with mode 0600 (EACCES on connect), against a rendered install root.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { carebox, CLI } from '../../e2e/e2e.helpers.js';
import { isRoot, NOBODY, skipBecause } from '../../unit/detect/unprivileged.js';

function runAsNobody(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { uid: NOBODY, gid: NOBODY, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

describe('CLI: a denied Docker socket gives an actionable message (run as uid 65534)', function () {
  this.timeout(120_000);
  let base = '';
  let root = '';
  let sock = '';
  let server: Server | null = null;

  before(async function () {
    if (!isRoot) skipBecause(this, 'needs root to run the CLI as another user');
    if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first');
    base = await mkdtemp(join(tmpdir(), 'carebox-denied-'));
    await chmod(base, 0o755);
    root = join(base, 'root');
    const r = await carebox(['install', '--yes', '--render-only', '--dir', root, '--http-port', '18093', '--bind', '127.0.0.1']);
    if (r.code !== 0) throw new Error(r.stderr);
    // nobody may read the install root (so the verb gets as far as Docker), but not the socket.
    for (const p of [root, join(root, 'carebox.json'), join(root, 'compose.yml')]) chmodSync(p, p === root ? 0o755 : 0o644);
    sock = join(base, 'docker.sock');
    server = createServer((c) => c.destroy());
    await new Promise<void>((res) => server!.listen(sock, () => res()));
    await chmod(sock, 0o600);
  });

  after(async () => {
    server?.close();
    if (base) await rm(base, { recursive: true, force: true });
  });

  for (const args of [['status', '--no-usage'], ['logs', 'backend'], ['scale', 'backend=2'], ['backup']]) {
    it(`${args[0]}: exit 1, "permission denied on the Docker socket" with what to do, no stack trace`, async () => {
      const r = await runAsNobody([...args, '--dir', root, '--json'], { DOCKER_HOST: `unix://${sock}` });
      expect(r.code, r.stderr).to.equal(1);
      const doc = JSON.parse(r.stdout);
      expect(doc.ok).to.equal(false);
      expect(doc.error.code).to.equal('OPERATION_FAILED');
      expect(doc.error.message).to.match(/permission denied on the Docker socket/);
      expect(doc.error.message).to.include(sock);
      expect(doc.error.message).to.match(/docker group|run as root/);
      expect(r.stderr).to.not.match(/^\s+at /m);
      expect(r.stderr).to.not.match(/internal error/);
    });
  }

  it('an install root the user may not read: exit 1 with what to do, no stack trace', async () => {
    chmodSync(join(root, 'carebox.json'), 0o640);
    try {
      const r = await runAsNobody(['status', '--dir', root, '--json'], { DOCKER_HOST: `unix://${sock}` });
      expect(r.code, r.stderr).to.equal(1);
      expect(JSON.parse(r.stdout).error.message).to.match(/permission denied reading .*carebox\.json/);
      expect(r.stderr).to.not.match(/^\s+at /m);
    } finally {
      chmodSync(join(root, 'carebox.json'), 0o644);
    }
  });
});
