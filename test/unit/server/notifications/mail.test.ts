import { expect } from 'chai';
import { addressOf, renderMessage } from '../../../../server/src/notifications/mail.message.js';
import { MAX_SEND_ATTEMPTS, renderReminder, retryDelaySeconds } from '../../../../server/src/notifications/notification.service.js';
import { dataBlock, parseSmtpUrl, SmtpError } from '../../../../server/src/notifications/smtp.client.js';

describe('server notifications: messages, SMTP details, reminders', () => {
  it('renders RFC 5322 text with CRLF; header injection is impossible; non-ASCII is encoded', () => {
    const text = renderMessage(
      { id: 'abc-1', from: 'Carebox <no-reply@h.example>', to: 'a@b.example\r\nBcc: evil@x', subject: 'Hi\r\nX-Evil: 1', text: 'one\ntwo' },
      new Date(0),
    );
    const [head, body] = text.split('\r\n\r\n');
    expect(head!.split('\r\n')).to.include.members([
      'To: a@b.example Bcc: evil@x',
      'Subject: Hi X-Evil: 1',
      'Message-ID: <abc-1@h.example>',
      'Content-Transfer-Encoding: 7bit',
    ]);
    expect(head).not.to.match(/^Bcc:/m);
    expect(body).to.equal('one\r\ntwo\r\n');
    const utf8 = renderMessage({ id: 'x', from: 'a@b.c', to: 'c@d.e', subject: 'Grüße', text: 'Ä' });
    expect(utf8).to.include('Subject: =?UTF-8?B?R3LDvMOfZQ==?=').and.to.include('Content-Transfer-Encoding: base64');
    expect(addressOf('Carebox <no-reply@h.example>')).to.equal('no-reply@h.example');
    expect(addressOf('plain@h.example')).to.equal('plain@h.example');
  });

  it('dot-stuffs DATA and ends it with CRLF.CRLF', () => {
    expect(dataBlock('a\n.b\n..c')).to.equal('a\r\n..b\r\n...c\r\n.\r\n');
  });

  it('parses SMTP_URL with the submission and TLS default ports and encoded credentials', () => {
    expect(parseSmtpUrl('smtp://mail.h.example')).to.deep.equal({
      host: 'mail.h.example',
      port: 587,
      implicitTls: false,
      username: undefined,
      password: undefined,
    });
    expect(parseSmtpUrl('smtps://u%40h:p%3Aw@mail.h.example')).to.deep.include({ port: 465, implicitTls: true, username: 'u@h', password: 'p:w' });
    expect(new SmtpError('x', 451).transient).to.equal(true);
    expect(new SmtpError('x', 550).transient).to.equal(false);
    expect(new SmtpError('x').transient).to.equal(true);
  });

  it('retries after 1, 2, 4, 8 minutes, then gives up', () => {
    expect(Array.from({ length: MAX_SEND_ATTEMPTS }, (_, i) => retryDelaySeconds(i + 1))).to.deep.equal([60, 120, 240, 480, null]);
  });

  it('writes the reminder in the hospital time zone', () => {
    const reminder = renderReminder(
      {
        appointmentId: 'a',
        patientId: 'p',
        startsAt: new Date('2030-06-01T07:30:00Z'),
        department: 'Cardiology',
        givenName: 'Jo',
        familyName: 'Doe',
        email: 'j@d.e',
        clinicianName: 'Dr X',
      },
      'Europe/Berlin',
    );
    expect(reminder.subject).to.include('09:30');
    expect(reminder.body).to.include('Dear Jo Doe,').and.to.include('Dr X, Cardiology').and.to.include('(Europe/Berlin)');
  });
});
