/**
 * Test certificates made with the real openssl CLI (Debian's openssl package): a self-signed CA
 * and a server certificate for 127.0.0.1/localhost, a key that does not match, and an encrypted key.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  /** Server certificate (self-signed, also its own CA) and key, PEM files. */
  cert: string;
  key: string;
  /** A key that does not belong to `cert`. */
  otherKey: string;
  /** `key` encrypted with a passphrase. */
  encryptedKey: string;
}

/** Make the certificates in a fresh temporary directory (~0.1 s); the server certificate is valid for `days` days. */
export function makeTestCerts(cn = 'carebox.test', days = 30): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'carebox-tls-'));
  const f = (n: string) => join(dir, n);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  writeFileSync(
    f('san.cnf'),
    `[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=DNS:localhost,DNS:${cn},IP:127.0.0.1\nbasicConstraints=critical,CA:TRUE\n`,
  );
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    f('key.pem'),
    '-out',
    f('cert.pem'),
    '-days',
    String(days),
    '-subj',
    `/CN=${cn}`,
    '-config',
    f('san.cnf'),
    '-extensions',
    'ext',
  );
  openssl('genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', f('other.pem'));
  openssl('pkey', '-in', f('key.pem'), '-aes256', '-passout', 'pass:secret-passphrase', '-out', f('encrypted.pem'));
  return { dir, cert: f('cert.pem'), key: f('key.pem'), otherKey: f('other.pem'), encryptedKey: f('encrypted.pem') };
}
