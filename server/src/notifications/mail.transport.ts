/**
 * Where outgoing mail goes: an SMTP server (SMTP_URL), or, by default, `.eml` files in
 * MAIL_FILE_DIR (one per message, named by the outbox id, written atomically) — so a fresh install
 * "sends" reminders without any mail setup, and an operator can inspect them.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/env.config.js';
import { addressOf, renderMessage, type MailMessage } from './mail.message.js';
import { parseSmtpUrl, sendSmtp, SmtpError, type SmtpTarget } from './smtp.client.js';

/** Sends one message. */
export interface MailTransport {
  /** `file:<dir>` or `smtp://host:port` (no credentials), for logs. */
  readonly description: string;
  /**
   * @throws SmtpError (check `transient`) or a file system error; the caller retries transient ones.
   */
  send(message: MailMessage): Promise<void>;
}

/** Writes each message to `<dir>/<id>.eml`; sending the same message again overwrites it. */
export class FileMailTransport implements MailTransport {
  readonly description: string;

  constructor(private readonly dir: string) {
    this.description = `file:${dir}`;
  }

  async send(message: MailMessage): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const name = `${message.id.replace(/[^A-Za-z0-9-]/g, '_')}.eml`;
    const temp = join(this.dir, `.${name}.${process.pid}.tmp`);
    await writeFile(temp, renderMessage(message), { mode: 0o600 });
    await rename(temp, join(this.dir, name));
  }
}

/** Sends through an SMTP server. */
export class SmtpMailTransport implements MailTransport {
  readonly description: string;
  private readonly target: SmtpTarget;

  constructor(url: string) {
    this.target = parseSmtpUrl(url);
    this.description = `${this.target.implicitTls ? 'smtps' : 'smtp'}://${this.target.host}:${this.target.port}`;
  }

  async send(message: MailMessage): Promise<void> {
    await sendSmtp(this.target, { from: addressOf(message.from), to: addressOf(message.to) }, renderMessage(message));
  }
}

/** The transport the config asks for. */
export function createMailTransport(config: Pick<Config, 'SMTP_URL' | 'MAIL_FILE_DIR'>): MailTransport {
  return config.SMTP_URL === undefined ? new FileMailTransport(config.MAIL_FILE_DIR) : new SmtpMailTransport(config.SMTP_URL);
}

/** True when a failed send may succeed later. */
export function isTransientMailError(err: unknown): boolean {
  return err instanceof SmtpError ? err.transient : true;
}
