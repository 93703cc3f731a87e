/**
 * The MariaDB server the tests run against: the one named by ITOP_CRON_TEST_DB, else a throwaway server
 * started once per test process (test/run.mjs starts one for the whole suite and sets the variable).
 */
import { startThrowawayServer, type ThrowawayServer } from '../../src/mariadb/throwaway.js';

export { startThrowawayServer, type ThrowawayServer };

/** Where and how to connect to the test server, as root (or the account of ITOP_CRON_TEST_DB). */
export interface TestServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** `mysql://user:pwd@host:port`, without a database. */
  readonly url: string;
}

let shared: Promise<TestServer> | undefined;

/** Reads a `mysql://user:pwd@host:port` URL; throws (without echoing the password) on anything else. */
export function parseServerUrl(url: string): TestServer {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('ITOP_CRON_TEST_DB is not a URL (expected mysql://user:pwd@host:port)');
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new Error(`ITOP_CRON_TEST_DB must be a mysql:// URL, not ${u.protocol}//`);
  }
  return {
    host: u.hostname === '' ? '127.0.0.1' : u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? 3306 : Number(u.port),
    user: u.username === '' ? 'root' : decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    url: `${u.protocol}//${u.username}${u.password === '' ? '' : `:${u.password}`}@${u.host}`,
  };
}

/**
 * The server of this test process: ITOP_CRON_TEST_DB when set, else a throwaway MariaDB started on the
 * first call (about 2 s) and stopped when the process exits.
 */
export function getTestServer(): Promise<TestServer> {
  shared ??= (async () => {
    const fromEnv = process.env['ITOP_CRON_TEST_DB'];
    if (fromEnv !== undefined && fromEnv !== '') return parseServerUrl(fromEnv);
    const server = await startThrowawayServer();
    return { host: '127.0.0.1', port: server.port, user: 'root', password: '', url: server.url };
  })();
  return shared;
}
