/**
 * A tiny SMTP receiver on node:net for `itop-cron demo`: it accepts every message on 127.0.0.1 and keeps
 * it, so that the demo can show the mail itop-cron sent without a mail server on the machine (smtp-server
 * is a test-only dependency). Plain SMTP only: no AUTH, no STARTTLS, which the demo's transport never asks.
 */
import { createServer, type Socket } from 'node:net';

export interface ReceivedMessage {
  readonly from: string;
  readonly to: string[];
  /** The message as sent (headers and body, dot-stuffing undone). */
  readonly data: string;
  /** The Subject header, unfolded (encoded words are left as they are). */
  readonly subject: string;
}

export interface SmtpReceiver {
  readonly port: number;
  readonly messages: ReceivedMessage[];
  close(): Promise<void>;
}

function subjectOf(data: string): string {
  const head = data.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const match = /^Subject:(.*(?:\r?\n[ \t].*)*)/im.exec(head);
  return match?.[1]?.replace(/\r?\n[ \t]/g, ' ').trim() ?? '';
}

function session(socket: Socket, messages: ReceivedMessage[]): void {
  let buffer = '';
  let inData = false;
  let from = '';
  let to: string[] = [];
  let lines: string[] = [];
  const reply = (text: string): void => { socket.write(`${text}\r\n`); };
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  reply('220 itop-cron-demo ESMTP');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\r\n'); nl >= 0; nl = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 2);
      if (inData) {
        if (line !== '.') {
          lines.push(line.startsWith('..') ? line.slice(1) : line);
          continue;
        }
        inData = false;
        const data = lines.join('\r\n');
        messages.push({ from, to, data, subject: subjectOf(data) });
        lines = [];
        reply('250 OK: queued');
        continue;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') reply('250-itop-cron-demo\r\n250-8BITMIME\r\n250 SMTPUTF8');
      else if (verb === 'HELO') reply('250 itop-cron-demo');
      else if (verb === 'MAIL') { from = /<([^>]*)>/.exec(line)?.[1] ?? ''; to = []; reply('250 OK'); }
      else if (verb === 'RCPT') { to.push(/<([^>]*)>/.exec(line)?.[1] ?? ''); reply('250 OK'); }
      else if (verb === 'DATA') { inData = true; reply('354 End data with <CR><LF>.<CR><LF>'); }
      else if (verb === 'RSET') { from = ''; to = []; reply('250 OK'); }
      else if (verb === 'NOOP') reply('250 OK');
      else if (verb === 'QUIT') { reply('221 Bye'); socket.end(); }
      else reply('502 Command not implemented');
    }
  });
}

/** Starts the receiver on a free port of 127.0.0.1. */
export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const messages: ReceivedMessage[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    session(socket, messages);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    messages,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
