/**
 * A minimal SMTP client (RFC 5321) for the appointment reminders: EHLO, STARTTLS when the server
 * offers it (or TLS from the start for smtps://), AUTH PLAIN, MAIL/RCPT/DATA, QUIT. Enough for a
 * hospital's relay or a mail provider's submission port; no pooling (a scan sends few messages).
 *
 * Credentials are never sent over an unencrypted connection: a server without TLS gets an error
 * instead. Every reply is awaited at most `timeoutMs`.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

/** An SMTP exchange failed: a refused command (with its reply code) or a connection problem. */
export class SmtpError extends Error {
  constructor(
    message: string,
    /** The server's reply code, when it refused a command; 5xx is permanent, 4xx temporary. */
    readonly replyCode: number | null = null,
  ) {
    super(message);
    this.name = 'SmtpError';
  }

  /** True when retrying later may help (temporary reply or connection problem). */
  get transient(): boolean {
    return this.replyCode === null || this.replyCode < 500;
  }
}

/** Where and how to connect, from SMTP_URL. */
export interface SmtpTarget {
  host: string;
  port: number;
  /** TLS from the first byte (smtps://). */
  implicitTls: boolean;
  username: string | undefined;
  password: string | undefined;
}

/** Parses SMTP_URL: `smtp://[user:pass@]host[:587]` or `smtps://[user:pass@]host[:465]`. */
export function parseSmtpUrl(raw: string): SmtpTarget {
  const url = new URL(raw);
  const implicitTls = url.protocol === 'smtps:';
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (implicitTls ? 465 : 587) : Number(url.port),
    implicitTls,
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
  };
}

interface Reply {
  code: number;
  lines: string[];
}

/** Reads SMTP replies (possibly multi-line) from a socket. */
class ReplyReader {
  private buffer = '';
  private lines: string[] = [];
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private readonly pending: Reply[] = [];

  attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk.toString('utf8')));
    socket.on('error', (err: Error) => this.fail(new SmtpError(`connection error: ${err.message}`)));
    socket.on('close', () => this.fail(new SmtpError('connection closed by the server')));
  }

  detach(socket: Socket | TLSSocket): void {
    socket.removeAllListeners('data');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    socket.on('error', () => undefined);
  }

  private onData(text: string): void {
    this.buffer += text;
    let index = this.buffer.indexOf('\n');
    while (index !== -1) {
      const line = this.buffer.slice(0, index).replace(/\r$/, '');
      this.buffer = this.buffer.slice(index + 1);
      this.lines.push(line);
      if (/^\d{3}( |$)/.test(line)) {
        const reply = { code: Number(line.slice(0, 3)), lines: this.lines.map((l) => l.slice(4)) };
        this.lines = [];
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = null;
          w.resolve(reply);
        } else {
          this.pending.push(reply);
        }
      }
      index = this.buffer.indexOf('\n');
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.reject(err);
    }
  }

  next(timeoutMs: number): Promise<Reply> {
    const queued = this.pending.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new SmtpError(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }
}

/** Dot-stuffs a message for DATA and terminates it. */
export function dataBlock(message: string): string {
  const normalized = message.replace(/\r?\n/g, '\r\n');
  const stuffed = normalized.replace(/^\./gm, '..');
  return `${stuffed.endsWith('\r\n') ? stuffed : `${stuffed}\r\n`}.\r\n`;
}

/**
 * Sends one message.
 * @param from envelope sender address; `to` envelope recipient address; `message` the RFC 5322 text.
 * @throws SmtpError (see `transient`) when the server refuses or the connection fails.
 */
export async function sendSmtp(
  target: SmtpTarget,
  envelope: { from: string; to: string },
  message: string,
  options: { timeoutMs?: number; rejectUnauthorized?: boolean } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const tlsOptions = { servername: target.host, rejectUnauthorized: options.rejectUnauthorized ?? true };
  let socket: Socket | TLSSocket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
    const s: Socket | TLSSocket = target.implicitTls
      ? tlsConnect({ host: target.host, port: target.port, ...tlsOptions }, () => resolve(s))
      : netConnect({ host: target.host, port: target.port }, () => resolve(s));
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`connect timed out after ${timeoutMs} ms`)));
    s.once('error', (err: Error) => reject(new SmtpError(`cannot connect to ${target.host}:${target.port}: ${err.message}`)));
  });
  socket.setTimeout(0);
  let secure = target.implicitTls;
  let reader = new ReplyReader();
  reader.attach(socket);

  const expect = async (codes: number[], what: string): Promise<Reply> => {
    const reply = await reader.next(timeoutMs);
    if (!codes.includes(reply.code)) throw new SmtpError(`${what} refused: ${reply.code} ${reply.lines.join(' ').slice(0, 200)}`, reply.code);
    return reply;
  };
  const command = async (line: string, codes: number[], what: string): Promise<Reply> => {
    socket.write(`${line}\r\n`);
    return expect(codes, what);
  };

  try {
    await expect([220], 'greeting');
    const helo = hostname().replace(/[^A-Za-z0-9.-]/g, '') || 'carebox';
    let ehlo = await command(`EHLO ${helo}`, [250], 'EHLO');
    const offers = (name: string): boolean => ehlo.lines.some((l) => l.toUpperCase().startsWith(name));
    if (!secure && offers('STARTTLS')) {
      await command('STARTTLS', [220], 'STARTTLS');
      reader.detach(socket);
      const plain = socket;
      socket = await new Promise<TLSSocket>((resolve, reject) => {
        const upgraded = tlsConnect({ socket: plain, ...tlsOptions }, () => resolve(upgraded));
        upgraded.once('error', (err) => reject(new SmtpError(`TLS handshake failed: ${err.message}`)));
      });
      secure = true;
      reader = new ReplyReader();
      reader.attach(socket);
      ehlo = await command(`EHLO ${helo}`, [250], 'EHLO after STARTTLS');
    }
    if (target.username !== undefined) {
      if (!secure) throw new SmtpError('the server offers no TLS; refusing to send the SMTP password in clear text', 530);
      const token = Buffer.from(`\u0000${target.username}\u0000${target.password ?? ''}`, 'utf8').toString('base64');
      await command(`AUTH PLAIN ${token}`, [235], 'AUTH');
    }
    await command(`MAIL FROM:<${envelope.from}>`, [250], 'MAIL FROM');
    await command(`RCPT TO:<${envelope.to}>`, [250, 251], 'RCPT TO');
    await command('DATA', [354], 'DATA');
    socket.write(dataBlock(message));
    await expect([250], 'message');
    socket.write('QUIT\r\n');
    await reader.next(Math.min(timeoutMs, 2_000)).catch(() => undefined);
  } finally {
    reader.detach(socket);
    socket.destroy();
  }
}
