import { expect } from 'chai';
import { ConfigError } from '../../../../server/src/config/env.config.js';
import { resolveSecretFiles } from '../../../../server/src/config/secret.files.js';

describe('server config: secrets given as <NAME>_FILE (Compose secrets)', () => {
  // A map stands in for the file system; the real files are read in the e2e suite (hardening.e2e).
  const files: Record<string, string> = {
    '/run/secrets/app-db-password': 'db-from-file\n',
    '/run/secrets/redis-password': 'redis-from-file',
    '/run/secrets/empty': '\n',
  };
  const read = (p: string): string => {
    if (!(p in files)) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    return files[p]!;
  };

  it('reads DATABASE_PASSWORD_FILE and REDIS_PASSWORD_FILE into their variables, dropping one trailing newline', () => {
    const env = resolveSecretFiles(
      { DATABASE_PASSWORD_FILE: '/run/secrets/app-db-password', REDIS_PASSWORD_FILE: '/run/secrets/redis-password', PORT: '3000' },
      read,
    );
    expect(env).to.include({ DATABASE_PASSWORD: 'db-from-file', REDIS_PASSWORD: 'redis-from-file', PORT: '3000' });
  });

  it('a variable set directly wins over its file (a one-off run as the owner role)', () => {
    const env = resolveSecretFiles({ DATABASE_PASSWORD_FILE: '/run/secrets/app-db-password', DATABASE_PASSWORD: 'owner-password' }, read);
    expect(env.DATABASE_PASSWORD).to.equal('owner-password');
  });

  it('leaves the input alone and changes nothing without _FILE variables', () => {
    const input = { DATABASE_PASSWORD: 'x' };
    expect(resolveSecretFiles(input, read)).to.deep.equal({ DATABASE_PASSWORD: 'x' });
    expect(input).to.deep.equal({ DATABASE_PASSWORD: 'x' });
  });

  it('a missing or empty file is a ConfigError naming the _FILE variable and the path, never a value', () => {
    let err: unknown;
    try {
      resolveSecretFiles({ DATABASE_PASSWORD_FILE: '/run/secrets/nope', REDIS_PASSWORD_FILE: '/run/secrets/empty' }, read);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems.map((p) => p.variable)).to.deep.equal(['DATABASE_PASSWORD_FILE', 'REDIS_PASSWORD_FILE']);
    expect(problems[0]!.message).to.match(/cannot read \/run\/secrets\/nope \(ENOENT\)/);
    expect(problems[1]!.message).to.match(/\/run\/secrets\/empty is empty/);
  });
});
