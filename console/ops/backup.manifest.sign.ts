/**
 * Signing of backup.json: HMAC-SHA256 over the exact bytes of backup.json with the install's
 * backup key (installer/apply/backup.key.ts), written next to it as `backup.json.sig`
 * (`hmac-sha256:<64 hex>`). backup.json holds the sha256 of the dump and of every file, so a valid
 * signature vouches for every byte a restore loads. Pure functions; no I/O.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** File name of the signature, next to backup.json. */
export const SIGNATURE_FILE = 'backup.json.sig';

const PREFIX = 'hmac-sha256:';

/** The signature text for backup.json's bytes: `hmac-sha256:<hex>` and a newline. Pure. */
export function signManifest(manifestBytes: Buffer, key: Buffer): string {
  return `${PREFIX}${createHmac('sha256', key).update(manifestBytes).digest('hex')}\n`;
}

/**
 * Whether `signatureText` (the content of backup.json.sig) is the signature of `manifestBytes`
 * under `key`. Constant-time comparison. Pure; never throws.
 */
export function manifestSignatureValid(manifestBytes: Buffer, signatureText: string, key: Buffer): boolean {
  const m = /^hmac-sha256:([0-9a-f]{64})\s*$/.exec(signatureText);
  if (!m) return false;
  const expected = createHmac('sha256', key).update(manifestBytes).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!, 'hex'));
}
