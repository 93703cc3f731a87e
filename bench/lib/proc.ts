/**
 * Child processes measured from the outside: wall time, peak RSS (GNU time's %M, else /proc VmHWM polled
 * until exit) and CPU time (GNU time's %U + %S for a whole run, /proc/<pid>/stat while it runs), so that
 * itop-cron and its floor are measured the same way.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';

export interface MeasuredRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Spawn to exit, ms (the same overhead of the time wrapper on both sides). */
  readonly wallMs: number;
  /** Peak resident set of the measured process, KiB; NaN when it could not be read. */
  readonly peakRssKiB: number;
  /**
   * User + system CPU seconds of the process and of every descendant it waited for (GNU time's %U + %S:
   * wait4's usage includes the reaped children's, so a PHP worker that itop-cron started and reaped counts);
   * NaN without GNU time.
   */
  readonly cpuSeconds: number;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times (getconf CLK_TCK, 100 almost everywhere). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds used so far by `pid` (not its children); NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}

/** VmRSS and VmHWM of `pid`, KiB; NaN once it is gone. */
export function memoryKiB(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN };
  }
}

/** Runs `command args` to its end and measures it. */
export function runMeasured(command: string, args: readonly string[], opts: RunOptions = {}): Promise<MeasuredRun> {
  const useTime = existsSync(GNU_TIME);
  const dir = useTime ? mkdtempSync(join(tmpdir(), 'itop-cron-bench-')) : undefined;
  const timeFile = dir === undefined ? '' : join(dir, 'maxrss');
  const [file, argv] = useTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, command, ...args]] : [command, [...args]];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hwm = Number.NaN;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    // Without GNU time, VmHWM is polled: the last value read before exit is the peak (close enough at 5 ms).
    const poll = useTime ? undefined : setInterval(() => {
      const m = memoryKiB(child.pid ?? 0).hwm;
      if (!Number.isNaN(m)) hwm = m;
    }, 5);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      if (poll !== undefined) clearInterval(poll);
      let peak = hwm;
      let cpu = Number.NaN;
      if (dir !== undefined) {
        // GNU time prints "Command exited with non-zero status N" before its line on failure: take the last line.
        const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
        const [m, u, sys] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
        peak = m ?? Number.NaN;
        cpu = (u ?? Number.NaN) + (sys ?? Number.NaN);
        rmSync(dir, { recursive: true, force: true });
      }
      resolve({ code, stdout, stderr, wallMs, peakRssKiB: peak, cpuSeconds: cpu });
    });
  });
}

/** A process left running while the bench samples it; `done` resolves with its exit code. */
export interface LiveChild {
  readonly pid: number;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(): void;
}

/** Starts `command args` without a wrapper (so that /proc/<pid> is the measured process itself). */
export function startChild(command: string, args: readonly string[], opts: RunOptions = {}): LiveChild {
  const child = spawn(command, [...args], { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 3_600_000);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return { pid: child.pid, done, kill: () => child.kill('SIGTERM') };
}
