import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

/** The editable templates, as text. Loaded once by the shell; the renderers take them as input. */
export interface Templates {
  /** compose-templates/carebox.compose.yml (YAML, parsed as data by the renderer). */
  compose: string;
  /** nginx/nginx.conf.eta */
  nginx: string;
  /** compose-templates/postgresql.conf.eta */
  postgresql: string;
  /** compose-templates/redis.conf.eta */
  redis: string;
  /** compose-templates/pgbouncer.ini.eta */
  pgbouncer: string;
}

/**
 * Read the templates from the package (or `root`).
 * @throws Error (ENOENT) when a template file is missing: the Carebox package is incomplete.
 */
export function loadTemplates(root: string = packageRoot()): Templates {
  const read = (...p: string[]) => readFileSync(join(root, ...p), 'utf8');
  return {
    compose: read('compose-templates', 'carebox.compose.yml'),
    nginx: read('nginx', 'nginx.conf.eta'),
    postgresql: read('compose-templates', 'postgresql.conf.eta'),
    redis: read('compose-templates', 'redis.conf.eta'),
    pgbouncer: read('compose-templates', 'pgbouncer.ini.eta'),
  };
}
