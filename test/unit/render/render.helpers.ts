import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { mergeSecrets } from '../../../installer/apply/secrets.store.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import type { Plan, Tier } from '../../../installer/plan/plan.types.js';
import { DEFAULT_IMAGES, type StackImages } from '../../../installer/render/images.map.js';
import { renderStack, type RenderedFile } from '../../../installer/render/render.js';
import { loadTemplates } from '../../../installer/render/templates.load.js';

export const GiB = 1024 ** 3;
export const IMAGES: StackImages = { ...DEFAULT_IMAGES, server: 'carebox/server:0.1.0-abcdef123456' };
export const OPTIONS = { project: 'carebox-test', httpPort: 18080, bindAddress: '127.0.0.1', version: '0.1.0' };

/** A plan for a tier on a host big enough for every tier (16 CPUs / 64 GiB), or a given host. */
export function planFor(tier: Tier, cpus = 16, gib = 64): Plan {
  return planCarebox(hypotheticalHost(cpus, gib * GiB), { tier, users: null, usersSource: null, nodes: null });
}

let n = 0;
/** Fixed secrets so renders are comparable. */
export const ENV = mergeSecrets(null, () => `secret-value-${String(++n).padStart(4, '0')}-abcdefghijklmnop`);

/** Render every file for a plan with the real templates. */
export function renderFor(plan: Plan, images: StackImages = IMAGES, tls: { httpsPort: number; certPem: string; keyPem: string } | null = null): RenderedFile[] {
  return renderStack({
    plan,
    env: ENV,
    images,
    options: { ...OPTIONS, httpsPort: tls?.httpsPort ?? null },
    templates: loadTemplates(),
    tlsFiles: tls ? { certPem: tls.certPem, keyPem: tls.keyPem } : null,
  });
}

export function fileOf(files: RenderedFile[], path: string): string {
  const f = files.find((x) => x.path === path);
  if (!f) throw new Error(`${path} not rendered`);
  return f.content;
}
