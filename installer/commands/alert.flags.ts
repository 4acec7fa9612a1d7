/** Validation of the alert flags of `install` and `plan` (--alerts, --alert-email, --alert-webhook). */
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { ALERT_MODES, type AlertMode } from '../plan/monitoring.sizing.js';

/** `--alerts stack|external|off` (or CAREBOX_ALERTS). @throws UsageError for another value. */
export function alertModeFlag(value: string | undefined): AlertMode | null {
  if (value === undefined || value === '') return null;
  if (!(ALERT_MODES as readonly string[]).includes(value))
    throw new UsageError(
      `invalid --alerts '${value}': expected one of ${ALERT_MODES.join(', ')}`,
      'stack: Prometheus and Alertmanager run in the stack; external: only the rules file for your own Prometheus; off: no alerts',
    );
  return value as AlertMode;
}

/**
 * `--alert-email ADDR…` (space- or comma-separated): who gets alert mail. `none` clears.
 * @throws UsageError for anything that is not an e-mail address.
 */
export function alertEmailFlag(values: string[] | undefined): string[] | null {
  if (values === undefined) return null;
  const items = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (items.length === 1 && items[0]!.toLowerCase() === 'none') return [];
  for (const item of items) {
    if (!z.string().email().safeParse(item).success)
      throw new UsageError(
        `--alert-email: '${item}' is not an e-mail address`,
        'e.g. --alert-email it-oncall@hospital.example (mail goes through SMTP_URL in .env)',
      );
  }
  return [...new Set(items)];
}

/** `--alert-webhook URL` (http or https); `none` clears (returns ''). @throws UsageError for another value. */
export function alertWebhookFlag(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (value.toLowerCase() === 'none') return '';
  let u: URL | null = null;
  try {
    u = new URL(value);
  } catch {
    u = null;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:'))
    throw new UsageError(
      `--alert-webhook: '${value}' is not an http(s) URL`,
      'e.g. --alert-webhook https://chat.hospital.example/hooks/carebox (Alertmanager posts its webhook JSON there)',
    );
  return value;
}

/**
 * Test-only: CAREBOX_TEST_ALERT_FOR_SCALE multiplies every rule's `for:` and Alertmanager's group
 * waits (e.g. 0.05 turns 2 min into 6 s), so e2e tests do not wait minutes. Null when unset.
 * @throws UsageError when set to anything but a number in (0, 1].
 */
export function alertForScaleFrom(env: NodeJS.ProcessEnv): number | null {
  const v = env.CAREBOX_TEST_ALERT_FOR_SCALE;
  if (v === undefined || v === '') return null;
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new UsageError(`CAREBOX_TEST_ALERT_FOR_SCALE '${v}' must be a number in (0, 1]`);
  return n;
}
