import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';

/**
 * Compose project name for an install root: `carebox` for the default root `/opt/carebox`, else
 * `carebox-<dir name>-<6 hex of the path>`, so two roots on one host never share containers.
 * Lowercase letters, digits and `-` only (what Compose v1 and v2 both accept). Pure.
 */
export function projectNameFor(root: string): string {
  const abs = resolve(root);
  if (abs === '/opt/carebox') return 'carebox';
  const base =
    basename(abs)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 24) || 'root';
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 6);
  return `carebox-${base}-${hash}`;
}
