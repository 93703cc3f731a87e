// The floor of ExecAsyncTask: nodemailer sending BENCH_COUNT messages over one pooled SMTP connection,
// no database. The messages are the ones the bench queues for itop-cron (same addresses, subjects, body).
import process from 'node:process';
import nodemailer from 'nodemailer';

const count = Number(process.env.BENCH_COUNT ?? 10000);
const transporter = nodemailer.createTransport({
  pool: true, maxConnections: 1, host: process.env.BENCH_SMTP_HOST, port: Number(process.env.BENCH_SMTP_PORT),
  secure: false, ignoreTLS: true, logger: false,
});
const body = process.env.BENCH_BODY ?? '';
// A window of sends in flight: the pool queues them on its one connection, so the link never waits for JS.
const WINDOW = 50;
const inFlight = new Set();
for (let i = 1; i <= count; i++) {
  const p = transporter.sendMail({
    from: { address: 'itop@example.com', name: 'iTop' }, to: 'user1@example.com', subject: `Bench mail #${i}`, html: body,
  }).finally(() => inFlight.delete(p));
  inFlight.add(p);
  if (inFlight.size >= WINDOW) await Promise.race(inFlight);
}
await Promise.all(inFlight);
transporter.close();
