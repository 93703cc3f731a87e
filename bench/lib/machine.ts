/** The machine a run was measured on, for bench/RESULTS.md. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';

export interface Machine {
  readonly nproc: number;
  readonly cpu: string;
  readonly memory: string;
  readonly node: string;
  readonly mariadb: string;
  readonly kernel: string;
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? '?';
  } catch {
    return '?';
  }
}

function nproc(): number {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    return availableParallelism();
  }
}

/** Describes this machine; `mariadb` is the server's SELECT VERSION(). */
export function describeMachine(mariadb: string): Machine {
  let kernel = '?';
  try {
    kernel = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
  } catch {
    // not a Unix: leave it unknown
  }
  return {
    nproc: nproc(),
    cpu: cpuModel(),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    mariadb,
    kernel,
  };
}
