import type { EnvFile } from '../env.file.js';

function quote(value: string): string {
  if (/^[A-Za-z0-9_\-.~+/=:@,]*$/.test(value)) return value;
  if (!value.includes("'") && !value.includes('\n')) return `'${value}'`;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * .env for the install root (written 0600): the Compose project name, Carebox's secrets, then the
 * admin's own variables (sorted by name). Deterministic for the same input.
 */
export function renderEnv(project: string, env: EnvFile): string {
  const lines = [
    '# Carebox secrets and settings. Mode 0600; never commit or share this file.',
    '# Secrets are generated once and kept across re-runs: changing one locks the stack out of its data.',
    '# Variables you add below are kept by `carebox install` and `carebox retier`.',
    `COMPOSE_PROJECT_NAME=${project}`,
    ...Object.entries(env.secrets).map(([k, v]) => `${k}=${v}`),
  ];
  if (env.extra.length > 0) lines.push('', ...env.extra.map(([k, v]) => `${k}=${quote(v)}`));
  return `${lines.join('\n')}\n`;
}
