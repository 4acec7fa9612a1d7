/**
 * TLS at the edge and the edge's addresses.
 *
 * With `--tls-cert FILE --tls-key FILE`, nginx terminates TLS itself: HTTPS on the bind address
 * (`--https-port`, default 443), and plain HTTP only on 127.0.0.1 (`--http-port`), for this
 * host's own tools (upgrade smoke test, load test, re-tier checks) and local admins. The
 * certificate and key are copied into the install root (`nginx/tls/`, key 0600), which nginx
 * reads through its existing read-only mount. A re-run without the flags keeps them.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { UnhealthyError, UsageError } from '../errors.js';
import { pollUntil } from '../runtime/url.poll.js';
import { INSTALL_FILES } from '../paths.js';

/** Paths of the certificate chain and key under the install root (installer/paths.ts). */
export const TLS_CERT_FILE = INSTALL_FILES.tlsCert;
export const TLS_KEY_FILE = INSTALL_FILES.tlsKey;

/**
 * uid and gid nginx runs as: the official image's `nginx` user (compose.yml's `user: "101:101"`).
 * It reads the key through the nginx/ directory mount (a file mount would keep the old inode after
 * a renewal), so the key is owned by this uid, mode 0600.
 */
export const NGINX_UID = 101;

/**
 * Give the edge's private key to nginx's uid (NGINX_UID), when it exists and Carebox runs as root
 * (only root may give a file away). Without root the key stays the installing user's, and nginx
 * cannot read it: install as root to serve TLS.
 * @returns whether the key is now nginx's (false when there is no key or no root).
 * @throws NodeJS.ErrnoException on I/O errors other than a missing key.
 */
export async function giveTlsKeyToNginx(root: string): Promise<boolean> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  try {
    await fs.chown(`${root}/${TLS_KEY_FILE}`, NGINX_UID, NGINX_UID);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** What carebox.json records of the edge's certificate (no key material). */
export interface TlsRecord {
  httpsPort: number;
  subject: string;
  /** Expiry, ISO-8601 UTC. */
  notAfter: string;
  /** SHA-256 fingerprint of the leaf certificate, `AA:BB:…`. */
  fingerprint256: string;
}

/** A certificate chain and its key, read and checked. */
export interface TlsPair {
  certPem: string;
  keyPem: string;
  subject: string;
  notAfter: string;
  fingerprint256: string;
}

/**
 * Read and check a PEM certificate (chain, leaf first) and its private key.
 * Only the CERTIFICATE blocks of the certificate file are kept (a combined cert+key bundle is fine).
 * @throws UsageError (exit 2) when a file is unreadable, not PEM, the key is encrypted or does not
 *   belong to the certificate, or the certificate has expired or is not valid yet.
 */
export async function readTlsPair(certPath: string, keyPath: string, now: Date = new Date()): Promise<TlsPair> {
  const read = (p: string, what: string) =>
    fs.readFile(p, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(
        `--tls-${what} ${p}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message}`,
        `give the PEM ${what === 'cert' ? 'certificate (chain)' : 'private key'} file`,
      );
    });
  const [certText, keyPem] = await Promise.all([read(certPath, 'cert'), read(keyPath, 'key')]);
  // Only the CERTIFICATE blocks are kept: a combined cert+key file must never put the key into the
  // world-readable cert.pem (the key goes to key.pem, 0600, from --tls-key only).
  const blocks = certText.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const certPem = blocks.join('\n');
  let cert: X509Certificate;
  try {
    if (blocks.length === 0) throw new Error('no certificate');
    cert = new X509Certificate(certPem);
  } catch {
    throw new UsageError(
      `--tls-cert ${certPath} is not a PEM certificate`,
      'give the certificate in PEM form (-----BEGIN CERTIFICATE-----), the server certificate first, then its intermediates',
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(keyPem) || /passphrase/i.test((err as Error).message);
    throw new UsageError(
      `--tls-key ${keyPath} ${encrypted ? 'is encrypted' : 'is not a PEM private key'}`,
      encrypted
        ? 'nginx starts unattended: give the key without a passphrase (openssl pkey -in key.pem -out plain.pem), kept at mode 0600'
        : 'give the private key in PEM form (-----BEGIN PRIVATE KEY-----)',
    );
  }
  if (!cert.checkPrivateKey(key))
    throw new UsageError(`--tls-key ${keyPath} does not belong to the certificate ${certPath}`, 'give the key the certificate was issued for');
  const notAfter = new Date(cert.validTo);
  if (!(notAfter.getTime() > now.getTime()))
    throw new UsageError(`the certificate ${certPath} expired on ${notAfter.toISOString()}`, 'renew it, then rerun with the new files');
  const notBefore = new Date(cert.validFrom);
  if (notBefore.getTime() > now.getTime() + 5 * 60_000)
    throw new UsageError(
      `the certificate ${certPath} is not valid before ${notBefore.toISOString()}`,
      "clients refuse it until then: check this host's clock and the certificate's dates",
    );
  return {
    certPem: `${certPem}\n`,
    keyPem: keyPem.endsWith('\n') ? keyPem : `${keyPem}\n`,
    subject: cert.subject.replace(/\n/g, ', '),
    notAfter: notAfter.toISOString(),
    fingerprint256: cert.fingerprint256,
  };
}

/** The carebox.json record of a pair served on `httpsPort`. Pure. */
export function tlsRecord(pair: TlsPair, httpsPort: number): TlsRecord {
  return { httpsPort, subject: pair.subject, notAfter: pair.notAfter, fingerprint256: pair.fingerprint256 };
}

/** The edge settings carebox.json records (`http`). */
export interface EdgeSettings {
  port: number;
  bindAddress: string;
  tls?: TlsRecord | null;
  /** The hospital's proxies whose X-Forwarded-For nginx believes (install --trusted-proxy), CIDRs; absent for none. */
  trustedProxies?: string[];
}

/**
 * Host ports nginx publishes, as `{ port, bindAddress }`: without TLS the HTTP port on the bind
 * address; with TLS the HTTPS port on the bind address and the HTTP port on 127.0.0.1 only. Pure.
 */
export function edgePorts(http: EdgeSettings): { port: number; bindAddress: string; scheme: 'http' | 'https' }[] {
  if (!http.tls) return [{ port: http.port, bindAddress: http.bindAddress, scheme: 'http' }];
  return [
    { port: http.tls.httpsPort, bindAddress: http.bindAddress, scheme: 'https' },
    { port: http.port, bindAddress: '127.0.0.1', scheme: 'http' },
  ];
}

/**
 * The edge's URLs. `internal`: plain HTTP reachable from this host, for Carebox's own requests
 * (smoke test, load test, status); `public`: what people open (HTTPS when TLS is on). Pure.
 */
export function edgeUrls(http: EdgeSettings): { internal: string; public: string } {
  const local = (bind: string) => (bind === '0.0.0.0' || bind === '' || bind === '::' ? '127.0.0.1' : bind);
  const internal = http.tls ? `http://127.0.0.1:${http.port}/` : `http://${local(http.bindAddress)}:${http.port}/`;
  if (!http.tls) return { internal, public: internal };
  const host = local(http.bindAddress);
  return { internal, public: `https://${host}${http.tls.httpsPort === 443 ? '' : `:${http.tls.httpsPort}`}/` };
}

/**
 * Check that the edge serves HTTPS with the recorded certificate: GET /ready over TLS (the chain
 * is not verified here, the fingerprint is), retried for up to `timeoutMs`.
 * @returns `https://…/ready → 200 (certificate <subject>)`.
 * @throws UnhealthyError when HTTPS does not answer 200, or serves another certificate (a renewal
 *   that nginx has not picked up).
 */
export async function checkEdgeTls(http: EdgeSettings, timeoutMs = 30_000): Promise<string> {
  const tls = http.tls;
  if (!tls) throw new Error('checkEdgeTls needs TLS settings');
  const url = new URL('ready', edgeUrls(http).public);
  let staleCertificate: string | null = null;
  return pollUntil<string>(
    async () => {
      try {
        const { status, fingerprint256 } = await new Promise<{ status: number; fingerprint256: string }>((resolve, reject) => {
          const req = httpsRequest(url, { rejectUnauthorized: false, timeout: 5000, agent: false }, (res) => {
            const fp = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, fingerprint256: fp }));
          });
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.on('error', reject);
          req.end();
        });
        // A reload is asynchronous: nginx's old workers may answer for a moment with the old certificate.
        staleCertificate = fingerprint256 !== tls.fingerprint256 ? fingerprint256 : null;
        if (staleCertificate === null && status === 200) return { done: true, value: `${url} → 200 (certificate ${tls.subject})` };
        return { done: false, last: staleCertificate === null ? `HTTP ${status}` : 'another certificate' };
      } catch (err) {
        staleCertificate = null;
        return { done: false, last: (err as Error).message };
      }
    },
    {
      timeoutMs,
      intervalMs: 500,
      onTimeout: (last) =>
        staleCertificate !== null
          ? new UnhealthyError(
              `${url} serves another certificate (${staleCertificate}) than the one installed (${tls.fingerprint256})`,
              'nginx did not pick up the new certificate: `carebox restart nginx`',
            )
          : new UnhealthyError(`${url} did not answer 200: ${last}`, 'check `carebox logs nginx`'),
    },
  );
}
