/** Types of throwaway-mariadb.mjs (plain JavaScript so that test/run.mjs can use it without tsx). */

/** A MariaDB server of a test process's own, in a temporary directory; root has no password. */
export interface ThrowawayServer {
  /** `mysql://root@127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** pid of the running mariadbd, undefined before it started. */
  readonly pid: number | undefined;
  /** Unix socket path of the server. */
  readonly socket: string;
  readonly dataDir: string;
  /** Kills the server at once (SIGKILL) and removes its directory; for exit handlers. */
  killSync(): void;
  /** Shuts the server down cleanly and removes its directory. */
  stop(): Promise<void>;
  /** Shuts the server down and starts it again on the same port and data. */
  restart(): Promise<void>;
}

/** The first of `names` found on PATH, /usr/sbin, /usr/bin, /usr/local/sbin or /usr/local/bin. */
export function findBinary(...names: string[]): string | undefined;
/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number>;
/** Starts a throwaway server and waits until it accepts connections. */
export function startThrowawayServer(): Promise<ThrowawayServer>;
