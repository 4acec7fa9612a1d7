/**
 * Password hashing with argon2id (OWASP Password Storage Cheat Sheet's first choice) at the
 * cheat sheet's minimum cost: 19 MiB of memory, 2 passes, 1 lane. Hashing runs on libuv's thread
 * pool, so it does not block the event loop; one hash takes ~20-40 ms of one CPU.
 */
import argon2 from 'argon2';

/** argon2id parameters: memory in KiB, passes, lanes. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes a password; the result is a PHC string (`$argon2id$v=19$m=…`) with its own salt. */
export async function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS);
}

/** True when `password` matches `hash`; false for a wrong password or a malformed hash. Never throws. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** True when `hash` was made with weaker parameters than {@link ARGON2_OPTIONS} (rehash on next sign-in). */
export function needsRehash(hash: string): boolean {
  try {
    return argon2.needsRehash(hash, ARGON2_OPTIONS);
  } catch {
    return true;
  }
}

/**
 * A hash of a random password nobody knows. Sign-in for an unknown user name verifies against it,
 * so that answering "wrong credentials" takes as long as for a real user (no user enumeration by timing).
 */
let dummyHash: Promise<string> | undefined;
export function unknownUserHash(): Promise<string> {
  dummyHash ??= hashPassword(`unknown-user-${Math.random()}-${Date.now()}`);
  return dummyHash;
}
