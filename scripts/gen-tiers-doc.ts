/**
 * Writes docs/tiers.md from the planner (scripts/tiers.doc.ts). Run with `npm run docs:tiers`.
 * `--check` writes nothing and exits 1 when the file is stale, for CI.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTiersDoc, TIERS_DOC_COMMAND, TIERS_DOC_PATH } from './tiers.doc.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(repo, TIERS_DOC_PATH);
const text = renderTiersDoc();
const current = await readFile(target, 'utf8').catch(() => null);

if (process.argv.includes('--check')) {
  if (current !== text) {
    process.stderr.write(`${TIERS_DOC_PATH} is stale: run \`${TIERS_DOC_COMMAND}\`\n`);
    process.exitCode = 1;
  } else process.stdout.write(`${TIERS_DOC_PATH} is up to date\n`);
} else if (current === text) {
  process.stdout.write(`${TIERS_DOC_PATH} unchanged\n`);
} else {
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, text);
  process.stdout.write(`wrote ${TIERS_DOC_PATH} (${text.length} bytes)\n`);
}
