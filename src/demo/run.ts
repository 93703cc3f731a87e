/**
 * `itop-cron demo`: the whole product in one command on a machine with no database and no configuration.
 * A private MariaDB in a temporary directory, a small iTop in it (seed.ts), an SMTP receiver in this
 * process, one short verbose pass of the real CLI, then what changed, in plain words. Nothing outside the
 * temporary directory is read or written: the pass runs there, with no ITOP_* variable of the caller.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { openDb } from '../db/connect.js';
import type { Db } from '../db/types.js';
import { serverBinaries, startThrowawayServer, type ThrowawayServer } from '../mariadb/throwaway.js';
import type { TextSink } from '../output/stdout.js';
import { packageRoot } from '../packageRoot.js';
import { createClock } from '../time/clock.js';
import { DEMO_CALLER, DEMO_DRAFT_IMAGES, DEMO_LOGIN, DEMO_TICKET_REF, seedDemo } from './seed.js';
import { startSmtpReceiver, type SmtpReceiver } from './smtpReceiver.js';

const DATABASE = 'itop_demo';
const TIMEZONE = 'Europe/Paris';
/** Long enough for every due task to run once, short enough for a first try. */
const PASS_SECONDS = 8;

export interface DemoOptions {
  /** Leave the server running and say how to use it. */
  readonly keep: boolean;
  /** Where mariadbd and mariadb-install-db are, when not on PATH or in /usr/sbin. */
  readonly binDir?: string | undefined;
  readonly out: TextSink;
  readonly err: TextSink;
  readonly env: NodeJS.ProcessEnv;
}

/** What the pass changed, read back from the database and the receiver. */
export interface DemoOutcome {
  readonly ticketStatus: string;
  readonly drafts: number;
  readonly queued: number;
  readonly mails: readonly { to: string[]; subject: string }[];
}

function phpString(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** conf/production/config-itop.php for the demo's iTop: its database, the receiver, a short pass. */
function writeItopConfig(dir: string, server: ThrowawayServer, smtpPort: number): string {
  const settings: Record<string, string | number | boolean> = {
    db_host: `127.0.0.1:${server.port}`, db_user: 'root', db_pwd: '', db_name: DATABASE, db_subname: '',
    timezone: TIMEZONE, cron_max_execution_time: PASS_SECONDS, cron_sleep: 3,
    email_transport: 'SMTP', 'email_transport_smtp.host': '127.0.0.1', 'email_transport_smtp.port': smtpPort,
    email_asynchronous: false, email_default_sender_address: 'itop@demo.example', app_root_url: 'http://itop.demo.example/',
  };
  const body = Object.entries(settings)
    .map(([k, v]) => `\t'${k}' => ${typeof v === 'string' ? phpString(v) : String(v)},`)
    .join('\n');
  const file = join(dir, 'config-itop.php');
  writeFileSync(file, `<?php\n$MySettings = array(\n${body}\n);\n$MyModuleSettings = array();\n$MyModules = array();\n`);
  return file;
}

/** The cron credentials, in a 0600 parameter file: never on a command line. */
function writeParams(dir: string, password: string): string {
  const file = join(dir, 'cron.params');
  writeFileSync(file, `auth_user=${DEMO_LOGIN}\nauth_pwd=${password}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** The caller's environment without anything that would point the pass elsewhere. */
function cleanEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!k.startsWith('ITOP_')) out[k] = v;
  // Errors only: the demo's own account says what went wrong, and a warning such as "running as root"
  // is about a production crontab, not about a trial in a temporary directory.
  return { ...out, ITOP_CRON_LOG_LEVEL: 'error' };
}

/** One pass of the built CLI, its stdout (cron.php's verbose lines) shown indented. */
function runPass(dir: string, configFile: string, paramFile: string, opts: DemoOptions): Promise<number> {
  const bin = join(packageRoot(), 'bin', 'itop-cron.js');
  const child = spawn(process.execPath, [bin, `--config=${configFile}`, `--param_file=${paramFile}`, '--verbose=1'], {
    cwd: dir, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'],
  });
  const relay = (stream: NodeJS.ReadableStream, sink: TextSink): void => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) sink.line(`    ${l}`);
    });
    stream.on('end', () => { if (rest !== '') sink.line(`    ${rest}`); });
  };
  relay(child.stdout, opts.out);
  relay(child.stderr, opts.err);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function outcome(db: Db, receiver: SmtpReceiver): Promise<DemoOutcome> {
  const [ticket] = await db.query<{ status: string }>(`SELECT status FROM ${db.table('ticket_request')} WHERE id = 1`);
  const [drafts] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.table('inline_image')}`);
  const [queued] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.table('priv_async_task')}`);
  return {
    ticketStatus: ticket?.status ?? '?',
    drafts: Number(drafts?.n ?? 0),
    queued: Number(queued?.n ?? 0),
    mails: receiver.messages.map((m) => ({ to: m.to, subject: m.subject })),
  };
}

/** The plain-words account of the pass; true when everything the demo set up happened. */
function explain(o: DemoOutcome, out: TextSink): boolean {
  const escalated = o.ticketStatus === 'escalated_tto';
  out.line('What happened:');
  out.line(escalated
    ? `  - Ticket ${DEMO_TICKET_REF} was past its time-to-own deadline: CheckStopWatchThresholds escalated it (status new -> escalated_tto).`
    : `  - Ticket ${DEMO_TICKET_REF} was NOT escalated (status ${o.ticketStatus}).`);
  const notified = o.mails.some((m) => m.to.includes(DEMO_CALLER));
  out.line(notified
    ? `  - Its 75% TTO threshold fired the notification: an e-mail to the caller ${DEMO_CALLER}.`
    : '  - The 75% TTO threshold notification was NOT sent.');
  const unqueued = o.queued === 0;
  out.line(unqueued
    ? '  - The e-mail waiting in the asynchronous queue was sent by ExecAsyncTask.'
    : `  - ${o.queued} e-mail(s) still wait in the asynchronous queue.`);
  out.line(`  - The SMTP receiver got ${o.mails.length} message(s):`);
  for (const m of o.mails) out.line(`      to ${m.to.join(', ')}: ${m.subject}`);
  const cleaned = o.drafts === 0;
  out.line(cleaned
    ? `  - ${DEMO_DRAFT_IMAGES} expired draft images (uploads of a form never saved) were removed by InlineImageGC.`
    : `  - ${o.drafts} expired draft image(s) were NOT removed.`);
  return escalated && notified && unqueued && cleaned && o.mails.length >= 2;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The demo; returns the exit code (0 when the pass did everything it should have). */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const started = Date.now();
  const { out } = opts;
  // Missing binaries are the one line of the run, before anything else is printed or created.
  serverBinaries(opts.binDir);
  out.line('Starting a private MariaDB server in a temporary directory...');
  const server = await startThrowawayServer({ prefix: 'itop-cron-demo-', binDir: opts.binDir });
  let receiver: SmtpReceiver | undefined;
  let keep = false;
  try {
    receiver = await startSmtpReceiver();
    const admin = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', password: '' });
    try {
      await admin.query(`CREATE DATABASE \`${DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    } finally {
      await admin.end();
    }
    const configFile = writeItopConfig(server.dir, server, receiver.port);
    const password = randomBytes(12).toString('base64url');
    const paramFile = writeParams(server.dir, password);
    const config: Config = loadConfig({ raw: { config: configFile }, env: {}, cwd: server.dir });
    const db = openDb(config.db);
    try {
      await seedDemo(db, config, createClock(TIMEZONE), password);
      out.line(`A small iTop database is ready (${seconds(Date.now() - started)}): a ticket past its time-to-own deadline, ` +
        'a threshold notification, a queued e-mail and expired draft images.');
      out.line(`Running one itop-cron pass of ${PASS_SECONDS} s, verbose (mail goes to an SMTP receiver in this process):`);
      out.line('');
      const code = await runPass(server.dir, configFile, paramFile, opts);
      out.line('');
      if (code !== 0) out.line(`The pass ended with exit code ${code}.`);
      const ok = explain(await outcome(db, receiver), out) && code === 0;
      out.line(`Demo finished in ${seconds(Date.now() - started)}.`);
      if (opts.keep) {
        keep = true;
        server.detach();
        out.line('');
        out.line(`The server keeps running (pid ${server.pid ?? '?'}, port ${server.port}), with everything in ${server.dir}. Try:`);
        out.line(`  itop-cron --config=${configFile} --param_file=${paramFile} --verbose=1`);
        out.line(`  itop-cron status --config=${configFile} --param_file=${paramFile}`);
        out.line(`  mariadb --no-defaults -h 127.0.0.1 -P ${server.port} -u root ${DATABASE}`);
        out.line(`Stop it and remove it: kill ${server.pid ?? '<pid>'} && rm -rf ${server.dir}`);
        out.line('(the SMTP receiver ends with this command: later mails fail until email_transport_smtp.* point elsewhere)');
      }
      return ok ? 0 : 1;
    } finally {
      await db.close();
    }
  } finally {
    await receiver?.close();
    if (!keep) {
      await server.stop();
      opts.out.line('Removed the server and its temporary directory.');
    }
  }
}
