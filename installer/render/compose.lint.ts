/** One lint finding on a rendered Compose document. */
export interface ComposeLintIssue {
  service: string;
  rule: 'container-name' | 'published-port' | 'missing-limits' | 'unpinned-image' | 'no-healthcheck' | 'privileges' | 'unbounded-logs';
  message: string;
}

/** Services allowed to publish host ports: only the edge proxy. */
export const EDGE_SERVICES = new Set(['nginx']);

/**
 * Find what FAILURES.md says breaks Compose stacks: `container_name` (scaling clashes), host ports
 * on anything but the edge ("port is already allocated" on the second replica), services without
 * CPU/memory limits, unpinned images, services without a healthcheck, and services running with
 * more than they need (a writable root filesystem, capabilities not dropped, setuid privilege
 * gain, no pids limit, `privileged`), and services whose logs are not rotated (json-file without
 * max-size and max-file).
 * Pure; returns every issue found (empty when clean).
 */
export function findComposeIssues(doc: { services?: Record<string, Record<string, unknown>> }): ComposeLintIssue[] {
  const issues: ComposeLintIssue[] = [];
  for (const [name, s] of Object.entries(doc.services ?? {})) {
    if ('container_name' in s)
      issues.push({ service: name, rule: 'container-name', message: `${name}: container_name breaks scaling (names clash); remove it` });
    if (!EDGE_SERVICES.has(name) && Array.isArray(s.ports) && s.ports.length > 0) {
      issues.push({
        service: name,
        rule: 'published-port',
        message: `${name}: only the edge publishes host ports; a second replica would fail with "port is already allocated"`,
      });
    }
    if (s.cpus === undefined || s.mem_limit === undefined)
      issues.push({ service: name, rule: 'missing-limits', message: `${name}: needs cpus and mem_limit from the plan` });
    const image = String(s.image ?? '');
    if (!/:[^/]+$/.test(image.replace(/@sha256:.*$/, '')) && !image.includes('@sha256:')) {
      issues.push({ service: name, rule: 'unpinned-image', message: `${name}: image ${image || '(none)'} is not pinned to a tag or digest` });
    } else if (/:latest(@|$)/.test(image)) {
      issues.push({ service: name, rule: 'unpinned-image', message: `${name}: image ${image} uses :latest` });
    }
    const caps = Array.isArray(s.cap_drop) ? s.cap_drop : [];
    const opts = Array.isArray(s.security_opt) ? s.security_opt : [];
    if (s.read_only !== true || !caps.includes('ALL') || !opts.includes('no-new-privileges:true') || typeof s.pids_limit !== 'number' || s.privileged) {
      issues.push({
        service: name,
        rule: 'privileges',
        message: `${name}: needs read_only, cap_drop [ALL], no-new-privileges and a pids_limit, and never privileged (least privilege)`,
      });
    }
    const logging = s.logging as { driver?: string; options?: Record<string, string> } | undefined;
    if (
      !logging ||
      logging.driver !== 'json-file' ||
      !/^\d+[kmg]$/.test(logging.options?.['max-size'] ?? '') ||
      !/^\d+$/.test(logging.options?.['max-file'] ?? '')
    ) {
      issues.push({
        service: name,
        rule: 'unbounded-logs',
        message: `${name}: needs logging json-file with max-size and max-file (unbounded logs fill the disk)`,
      });
    }
    if (!s.healthcheck) issues.push({ service: name, rule: 'no-healthcheck', message: `${name}: needs a healthcheck (install waits on health)` });
  }
  return issues;
}

/**
 * Lint a rendered Compose document.
 * @throws Error listing every issue; the renderer calls this so a bad template never reaches disk.
 */
export function lintCompose(doc: { services?: Record<string, Record<string, unknown>> }): void {
  const issues = findComposeIssues(doc);
  if (issues.length > 0) throw new Error(`rendered compose.yml fails the lint:\n- ${issues.map((i) => i.message).join('\n- ')}`);
}
