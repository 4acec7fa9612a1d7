/**
 * One-time passwords, for the first admin and for password resets: 20 random characters from an
 * alphabet without look-alikes (no 0/O, 1/l/I), in groups of four for reading aloud or typing.
 * About 115 bits of entropy; the user must replace it at first sign-in.
 */
import { randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A new one-time password, e.g. `Xk7m-2PqR-…` (24 characters including dashes). */
export function generateOneTimePassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < 5; g += 1) {
    let group = '';
    for (let i = 0; i < 4; i += 1) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}
