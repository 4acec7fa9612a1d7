/**
 * Builds RFC 5322 messages (plain text, UTF-8) and takes addresses apart. Header values are
 * stripped of CR/LF, so no data can inject headers; non-ASCII header text is RFC 2047 encoded and
 * a non-ASCII body is base64, so any relay accepts the message.
 */
import { randomUUID } from 'node:crypto';

/** One message to send. */
export interface MailMessage {
  /** Stable id (the outbox row id): the file name and the Message-ID. */
  id: string;
  from: string;
  to: string;
  subject: string;
  text: string;
}

/** The bare address of `Name <addr>` or `addr`. */
export function addressOf(mailbox: string): string {
  const match = /<([^<>\s]+@[^<>\s]+)>\s*$/.exec(mailbox);
  return (match ? match[1]! : mailbox).trim();
}

function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').trim();
}

const isAscii = (value: string): boolean => /^[\x20-\x7e\t\r\n]*$/.test(value);

function encodeHeader(value: string): string {
  const clean = oneLine(value);
  return isAscii(clean) ? clean : `=?UTF-8?B?${Buffer.from(clean, 'utf8').toString('base64')}?=`;
}

/**
 * The message as RFC 5322 text with CRLF line ends.
 * @param date the Date header (default now).
 */
export function renderMessage(message: MailMessage, date: Date = new Date()): string {
  const text = message.text.replace(/\r?\n/g, '\r\n');
  const ascii = isAscii(text);
  const body = ascii
    ? text
    : (
        Buffer.from(text, 'utf8')
          .toString('base64')
          .match(/.{1,76}/g) ?? []
      ).join('\r\n');
  const domain = addressOf(message.from).split('@')[1] ?? 'carebox.invalid';
  const headers = [
    `From: ${encodeHeader(message.from)}`,
    `To: ${oneLine(message.to)}`,
    `Subject: ${encodeHeader(message.subject)}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${/^[A-Za-z0-9-]+$/.test(message.id) ? message.id : randomUUID()}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    `Content-Transfer-Encoding: ${ascii ? '7bit' : 'base64'}`,
    'Auto-Submitted: auto-generated',
  ];
  return `${headers.join('\r\n')}\r\n\r\n${body}\r\n`;
}
