/**
 * A real SMTP server for tests (smtp-server on 127.0.0.1, random port, no STARTTLS) that keeps what it
 * receives, parsed by mailparser, and can misbehave on request: refuse, hang, or drop the connection.
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface SinkOptions {
  /** When set, AUTH is required and only these credentials pass; otherwise AUTH is optional and always fails (535). */
  auth?: { user: string; pass: string };
  /** Refuse with this SMTP reply, at MAIL FROM, RCPT TO or after DATA (default). */
  rejectWith?: { code: number; message: string; at?: 'mail' | 'rcpt' | 'data' };
  /** Refuse only these recipients at RCPT TO (the others are accepted). */
  rejectRecipients?: readonly string[];
  /** Read the message but never answer DATA. */
  hang?: boolean;
  /** Destroy the connection as soon as message data starts to arrive. */
  dropMidMessage?: boolean;
  /** Listen on this port (default: a free one), e.g. to bring a stopped server back where it was. */
  port?: number;
}

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  /** The AUTH user of the session, if any. */
  user: string | undefined;
  raw: Buffer;
  parsed: ParsedMail;
}

export interface SmtpSink {
  host: string;
  port: number;
  messages: ReceivedMail[];
  /** Connections accepted so far. */
  connections(): number;
  /** Resolves when `n` messages have arrived. */
  waitForMessages(n: number): Promise<void>;
  close(): Promise<void>;
}

function envelopeOf(session: SMTPServerSession): ReceivedMail['envelope'] {
  const from = session.envelope.mailFrom;
  return {
    from: from === false ? '' : from.address,
    to: session.envelope.rcptTo.map((r) => r.address),
  };
}

/** Starts the sink; always `close()` it (in `t.after` or a finally). */
export async function startSmtpSink(opts: SinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const waiters: Array<() => void> = [];
  let connections = 0;
  const notify = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  const smtpError = (code: number, message: string): Error => Object.assign(new Error(message), { responseCode: code });

  const server: SMTPServer = new SMTPServer({
    authOptional: opts.auth === undefined,
    disabledCommands: ['STARTTLS'],
    closeTimeout: 200,
    logger: false,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onAuth(auth, _session, callback) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) {
        callback(null, { user: auth.username });
      } else {
        callback(smtpError(535, 'Authentication failed'));
      }
    },
    onMailFrom(_address, _session, callback) {
      if (opts.rejectWith?.at === 'mail') return callback(smtpError(opts.rejectWith.code, opts.rejectWith.message));
      return callback();
    },
    onRcptTo(address, _session, callback) {
      if (opts.rejectWith?.at === 'rcpt') return callback(smtpError(opts.rejectWith.code, opts.rejectWith.message));
      if (opts.rejectRecipients?.includes(address.address)) return callback(smtpError(550, 'No such user'));
      return callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      if (opts.dropMidMessage) {
        stream.once('data', () => {
          for (const c of server.connections) if (c.id === session.id) c._socket.destroy();
        });
      }
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (opts.hang || opts.dropMidMessage) return;
        if (opts.rejectWith && (opts.rejectWith.at ?? 'data') === 'data') {
          callback(smtpError(opts.rejectWith.code, opts.rejectWith.message));
          return;
        }
        const raw = Buffer.concat(chunks);
        const user = typeof session.user === 'string' ? session.user : undefined;
        simpleParser(raw).then(
          (parsed) => {
            messages.push({ envelope: envelopeOf(session), user, raw, parsed });
            callback();
            notify();
          },
          (e: unknown) => callback(e as Error),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  // The server keeps running after a client error (dropped or timed-out connections): ignore those.
  server.on('error', () => undefined);
  const addr = server.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('SMTP sink has no TCP address');

  return {
    host: '127.0.0.1',
    port: addr.port,
    messages,
    connections: () => connections,
    async waitForMessages(n) {
      while (messages.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of server.connections) c._socket.destroy();
        server.close(() => resolve());
      }),
  };
}
