/**
 * iTop's own PHP processes run through the PHP bridge, against the real `php webservices/cron.php` of the
 * same tree in the same run (issue 12, Performance): the real installed iTop 3.2 (test/helpers'
 * unpackInstalledItop) with the tests' module (test/fixtures/itop-cron-test-module.php), its database in
 * a database of the bench's server. Fixed runs of `cron_max_execution_time` seconds on a fresh registry,
 * alternated: CPU of the whole process tree (itop-cron with every class forced to PHP), the bridge's
 * overhead per PHP task and the bootstraps per run from itop-cron's own log, and a hung PHP task.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql, { type Connection } from 'mysql2/promise';
import {
  ADMIN as ITOP_ADMIN, realItopMissing, setItopSetting, unpackInstalledItop, type ItopTree,
} from '../../test/helpers/installedItop.js';
import { BIN, REPO, sharedEnv } from '../lib/cron.js';
import { runMeasured, type MeasuredRun } from '../lib/proc.js';
import type { ResultRow } from '../lib/report.js';
import type { BenchServer } from '../lib/server.js';
import { median, percentile } from '../lib/stats.js';

/** cron_max_execution_time of every run (s). */
const RUN_SECONDS = 10;
const GNU_TIME = '/usr/bin/time';
const LONG_SECONDS = 30;
/** The hung task's hard deadline (s), `itop_cron.task_deadlines`. */
const HANG_DEADLINE = 2;
const MODULE = readFileSync(join(REPO, 'test', 'fixtures', 'itop-cron-test-module.php'), 'utf8');

interface LogLine { readonly msg: string; readonly task?: string; readonly duration?: number; readonly time: number }

function logLines(stderr: string): LogLine[] {
  return stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
}

interface Side {
  readonly root: string;
  readonly configFile: string;
  readonly params: string;
  /** A `php` wrapper under GNU time: each PHP process itop-cron starts appends its user and system CPU here. */
  readonly phpBin: string;
  readonly phpCpuFile: string;
  query<T>(sql: string): Promise<T[]>;
}

const mode = (s: Side, m: string): void => writeFileSync(join(s.root, 'data', 'itop-cron-test.mode'), m);

/** Task runs of one run: the sum of total_exec_count on a registry emptied before it. */
async function taskRuns(s: Side): Promise<number> {
  const rows = await s.query<{ n: string | null }>('SELECT SUM(total_exec_count) AS n FROM priv_backgroundtask');
  return Number(rows[0]?.n ?? 0);
}

function phpCommand(s: Side): [string, string[]] {
  return ['php', [join(s.root, 'webservices', 'cron.php'), `--param_file=${s.params}`, '--verbose=1']];
}

function cronCommand(s: Side): [string, string[]] {
  return [process.execPath, [BIN, `--param_file=${s.params}`, `--itop_root=${s.root}`, `--php_bin=${s.phpBin}`, '--verbose=1']];
}

const cronEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...sharedEnv(), ITOP_CRON_LOG_LEVEL: 'debug', ...extra });

async function checked(run: Promise<MeasuredRun>, what: string): Promise<MeasuredRun> {
  const r = await run;
  if (r.code !== 0 || !/Reached normal execution time limit/.test(r.stdout)) {
    throw new Error(`${what} failed (exit ${r.code}): ${r.stdout.slice(-400)} ${r.stderr.slice(-600)}`);
  }
  return r;
}

/** One fixed run of cron.php on a fresh registry. */
async function phpRun(s: Side): Promise<{ run: MeasuredRun; tasks: number }> {
  await s.query('DELETE FROM priv_backgroundtask');
  const [cmd, args] = phpCommand(s);
  const run = await checked(runMeasured(cmd, args, { cwd: s.root, env: sharedEnv() }), 'cron.php');
  return { run, tasks: await taskRuns(s) };
}

interface CronRun {
  readonly run: MeasuredRun;
  readonly tasks: number;
  readonly lines: LogLine[];
  /** CPU seconds of the PHP processes of the run (part of run.cpuSeconds). */
  readonly phpCpu: number;
}

/** The CPU the wrapper recorded for the run's PHP processes (one line each). */
function phpShare(s: Side): number {
  let total = 0;
  for (const line of readFileSync(s.phpCpuFile, 'utf8').trim().split('\n')) {
    const [u, sys] = line.split(' ').map(Number);
    if (u !== undefined && sys !== undefined && Number.isFinite(u + sys)) total += u + sys;
  }
  return total;
}

/** One fixed run of itop-cron on a fresh registry; every task must have been answered by PHP. */
async function cronRun(s: Side, allPhp = true): Promise<CronRun> {
  await s.query('DELETE FROM priv_backgroundtask');
  writeFileSync(s.phpCpuFile, '');
  const [cmd, args] = cronCommand(s);
  const run = await checked(runMeasured(cmd, args, { env: cronEnv() }), 'itop-cron');
  const lines = logLines(run.stderr);
  const runs = lines.filter((l) => l.msg === 'task run').length;
  const answered = lines.filter((l) => l.msg === 'PHP task answered').length;
  if (allPhp && runs !== answered) throw new Error(`itop-cron ran ${runs - answered} of ${runs} tasks natively: itop_cron.php_tasks missed a class`);
  return { run, tasks: await taskRuns(s), lines, phpCpu: phpShare(s) };
}

/** itop-cron's time for each run of `task` minus the time the bridge says the process took, ms. */
function overheads(lines: readonly LogLine[], task: string): number[] {
  const out: number[] = [];
  let answered: number | undefined;
  for (const l of lines) {
    if (l.task !== task) continue;
    if (l.msg === 'PHP task answered') answered = l.duration;
    else if (l.msg === 'task run' && answered !== undefined && l.duration !== undefined) {
      out.push((l.duration - answered) * 1000);
      answered = undefined;
    }
  }
  return out;
}

/** The hung probe's start to the next task's start, minus the deadline (ms), for each hang of the run. */
function hangDelays(lines: readonly LogLine[]): Array<{ delayMs: number; next: string }> {
  const runs = lines.filter((l) => l.msg === 'task run');
  const start = (l: LogLine): number => l.time - (l.duration ?? 0) * 1000;
  const out: Array<{ delayMs: number; next: string }> = [];
  runs.forEach((l, i) => {
    const next = runs[i + 1];
    if (l.task === 'ItopCronTestProbe' && next !== undefined) {
      out.push({ delayMs: start(next) - start(l) - HANG_DEADLINE * 1000, next: next.task ?? '?' });
    }
  });
  return out;
}

/**
 * cron.php on the hung probe: started in a process group of its own (the probe's `sleep` child is in it),
 * left for the run's length plus 5 s, then killed whole. Whether the task after the probe ever started is
 * read from the registry: its row was never run.
 */
async function phpHang(s: Side): Promise<{ endedAlone: boolean; otherRuns: number; probeRunning: boolean }> {
  await s.query('DELETE FROM priv_backgroundtask');
  const [cmd, args] = phpCommand(s);
  const child = spawn(cmd, args, { cwd: s.root, env: sharedEnv(), stdio: 'ignore', detached: true });
  const ended = new Promise<boolean>((resolve) => child.on('close', () => resolve(true)));
  const endedAlone = await Promise.race([ended, new Promise<boolean>((r) => setTimeout(() => r(false), (RUN_SECONDS + 5) * 1000))]);
  if (!endedAlone && child.pid !== undefined) {
    process.kill(-child.pid, 'SIGKILL');
    await ended;
  }
  const rows = await s.query<{ class_name: string; total_exec_count: string; running: string }>(
    "SELECT class_name, total_exec_count, running FROM priv_backgroundtask WHERE class_name IN ('ItopCronTestProbe', 'ItopCronTestOther')",
  );
  const row = (c: string): { total_exec_count: string; running: string } | undefined => rows.find((r) => r.class_name === c);
  return {
    endedAlone,
    otherRuns: Number(row('ItopCronTestOther')?.total_exec_count ?? 0),
    probeRunning: Number(row('ItopCronTestProbe')?.running) === 1,
  };
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;
const sec = (v: number): string => `${v.toFixed(2)} s`;

async function measure(s: Side, reps: number): Promise<{ rows: ResultRow[]; notes: string[] }> {
  mode(s, 'ok');
  // Warm-up of each side (page cache; itop-cron's first run fills its PHP file opcache), and the class list.
  const warm = await phpRun(s);
  const classes = /\nBackground processes: (.*)\n/.exec(warm.run.stdout)?.[1]?.split(', ') ?? [];
  if (!classes.includes('ItopCronTestOther')) throw new Error(`cron.php did not list the test module: ${warm.run.stdout.slice(0, 400)}`);
  const forced = `'${classes.join(',').replace(/\\/g, '\\\\')}'`;
  setItopSetting(s.configFile, 'itop_cron.php_tasks', forced);
  await cronRun(s);

  const php: Array<{ run: MeasuredRun; tasks: number }> = [];
  const ours: CronRun[] = [];
  for (let i = 0; i < reps; i++) {
    php.push(await phpRun(s));
    ours.push(await cronRun(s));
  }
  const cpu = median(ours.map((r) => r.run.cpuSeconds));
  const phpCpu = median(php.map((r) => r.run.cpuSeconds));
  const tasks = median(ours.map((r) => r.tasks));
  const phpTasks = median(php.map((r) => r.tasks));
  const perTask = median(ours.map((r) => (r.run.cpuSeconds * 1000) / r.tasks));
  const phpPerTask = median(php.map((r) => (r.run.cpuSeconds * 1000) / r.tasks));

  // The same runs without the file opcache (itop_cron.php_opcache false): what the opcache buys.
  const noCacheReps = Math.min(reps, 3);
  setItopSetting(s.configFile, 'itop_cron.php_opcache', 'false');
  const noCache: CronRun[] = [];
  for (let i = 0; i < noCacheReps; i++) noCache.push(await cronRun(s));
  setItopSetting(s.configFile, 'itop_cron.php_opcache', 'true');
  const noCacheCpu = median(noCache.map((r) => r.run.cpuSeconds));
  // As shipped: native tasks where itop-cron has them, PHP for the others (ObsolescenceDateUpdater, ...).
  setItopSetting(s.configFile, 'itop_cron.php_tasks', "''");
  const shipped: CronRun[] = [];
  for (let i = 0; i < noCacheReps; i++) shipped.push(await cronRun(s, false));
  setItopSetting(s.configFile, 'itop_cron.php_tasks', forced);
  const shippedCpu = median(shipped.map((r) => r.run.cpuSeconds));

  const phpPart = median(ours.map((r) => r.phpCpu));
  const nodePart = median(ours.map((r) => r.run.cpuSeconds - r.phpCpu));
  // Start-up and one pass: 1 s runs of each side, so that the fixed cost and the cost per task run separate.
  setItopSetting(s.configFile, 'cron_max_execution_time', '1');
  const shortPhp: Array<{ run: MeasuredRun; tasks: number }> = [];
  const shortOurs: CronRun[] = [];
  for (let i = 0; i < noCacheReps; i++) {
    shortPhp.push(await phpRun(s));
    shortOurs.push(await cronRun(s));
  }
  // And one 30 s run of each: the cost per task run once start-up and V8's warm-up are behind.
  setItopSetting(s.configFile, 'cron_max_execution_time', String(LONG_SECONDS));
  const longPhp = await phpRun(s);
  const longOurs = await cronRun(s);
  setItopSetting(s.configFile, 'cron_max_execution_time', String(RUN_SECONDS));
  const steady = ((longOurs.run.cpuSeconds - cpu) * 1000) / (longOurs.tasks - tasks);
  const phpSteady = ((longPhp.run.cpuSeconds - phpCpu) * 1000) / (longPhp.tasks - phpTasks);
  const steadyPhpPart = ((longOurs.phpCpu - phpPart) * 1000) / (longOurs.tasks - tasks);
  const short = median(shortOurs.map((r) => r.run.cpuSeconds));
  const shortPhpCpu = median(shortPhp.map((r) => r.run.cpuSeconds));
  const marginal = ((cpu - short) * 1000) / (tasks - median(shortOurs.map((r) => r.tasks)));
  const phpMarginal = ((phpCpu - shortPhpCpu) * 1000) / (phpTasks - median(shortPhp.map((r) => r.tasks)));

  const over = ours.flatMap((r) => overheads(r.lines, 'ItopCronTestOther'));
  const perRun = ours.map((r) => median(overheads(r.lines, 'ItopCronTestOther')));
  const allOver = ours.flatMap((r) => [...new Set(r.lines.map((l) => l.task ?? ''))].filter((t) => t !== '').flatMap((t) => overheads(r.lines, t)));
  const ready = ours.map((r) => r.lines.filter((l) => l.msg === 'PHP worker ready').length);
  const mark = await updateTimes(s, 30);

  // The hung probe: every class in PHP as above, the probe's deadline 2 s.
  mode(s, 'hang');
  setItopSetting(s.configFile, 'itop_cron.task_deadlines', `'ItopCronTestProbe=${HANG_DEADLINE}'`);
  const hangReps = Math.min(reps, 3);
  const delays: Array<{ delayMs: number; next: string }> = [];
  for (let i = 0; i < hangReps; i++) delays.push(...hangDelays((await cronRun(s)).lines));
  const phpHung = await phpHang(s);
  setItopSetting(s.configFile, 'itop_cron.task_deadlines', "''");
  mode(s, 'ok');
  if (delays.length === 0) throw new Error('itop-cron: no hung run of ItopCronTestProbe was followed by another task');
  const worst = Math.max(...delays.map((d) => d.delayMs));
  const phpNever = !phpHung.endedAlone && phpHung.otherRuns === 0 && phpHung.probeRunning;

  const ratio = cpu / phpCpu;
  const rows: ResultRow[] = [
    {
      figure: `CPU of a ${RUN_SECONDS} s run, every task in PHP (process tree, user+sys; ${tasks} vs ${phpTasks} task runs)`,
      value: sec(cpu), floor: `${sec(phpCpu)} (cron.php)`, ratio, target: '≤ 1.1×', pass: ratio <= 1.1,
    },
    {
      figure: 'CPU per task run, same runs',
      value: ms(perTask), floor: `${ms(phpPerTask)} (cron.php)`, ratio: perTask / phpPerTask, target: '(informative)', pass: undefined,
    },
    {
      figure: '… of which the PHP worker (bootstrap + tasks)',
      value: sec(phpPart), floor: `${sec(phpCpu)} (cron.php)`, ratio: phpPart / phpCpu, target: '(informative)', pass: undefined,
    },
    {
      figure: '… of which Node (itop-cron itself: start-up, password check, scheduler, bridge)',
      value: sec(nodePart), floor: '—', ratio: Number.NaN, target: '(informative)', pass: undefined,
    },
    {
      figure: `CPU of a 1 s run (start-up, one pass: ${median(shortOurs.map((r) => r.tasks))} vs ${median(shortPhp.map((r) => r.tasks))} task runs)`,
      value: sec(short), floor: `${sec(shortPhpCpu)} (cron.php)`, ratio: short / shortPhpCpu, target: '(informative)', pass: undefined,
    },
    {
      figure: 'CPU per extra task run, (10 s run − 1 s run) / (task runs of 10 s − of 1 s)',
      value: ms(marginal), floor: `${ms(phpMarginal)} (cron.php)`, ratio: marginal / phpMarginal, target: '(informative)', pass: undefined,
    },
    {
      figure: `CPU per extra task run, (${LONG_SECONDS} s run − 10 s run) / (task runs of ${LONG_SECONDS} s − of 10 s), one ${LONG_SECONDS} s run each`,
      value: ms(steady), floor: `${ms(phpSteady)} (cron.php)`, ratio: steady / phpSteady, target: '(informative)', pass: undefined,
    },
    {
      figure: `CPU of the same run without the PHP file opcache (itop_cron.php_opcache false)`,
      value: sec(noCacheCpu), floor: `${sec(phpCpu)} (cron.php)`, ratio: noCacheCpu / phpCpu, target: '(informative)', pass: undefined,
    },
    {
      figure: `CPU of the same run as shipped (native tasks where itop-cron has them; ${median(shipped.map((r) => r.tasks))} task runs)`,
      value: sec(shippedCpu), floor: `${sec(phpCpu)} (cron.php)`, ratio: shippedCpu / phpCpu, target: '(informative)', pass: undefined,
    },
    {
      figure: `Bridge overhead per PHP task (ItopCronTestOther, ${over.length} runs): task run − PHP's own time, median`,
      value: ms(median(over)), floor: '—', ratio: Number.NaN, target: '≤ 5 ms', pass: median(over) <= 5,
    },
    {
      figure: "… of which the durable UPDATE marking the row running (cron.php's too), alone on the same server",
      value: ms(mark), floor: '—', ratio: Number.NaN, target: '(informative)', pass: undefined,
    },
    {
      figure: 'iTop bootstraps (PHP worker ready) per itop-cron run',
      value: `${Math.min(...ready)}–${Math.max(...ready)}`, floor: '1 (cron.php)', ratio: Number.NaN, target: 'exactly 1',
      pass: ready.every((n) => n === 1),
    },
    {
      figure: `Hung PHP task (deadline ${HANG_DEADLINE} s): next task's start − hung task's start − deadline, worst of ${delays.length}`,
      value: ms(worst), floor: phpNever ? 'never (cron.php)' : 'cron.php: see notes', ratio: Number.NaN, target: '≤ 1000 ms', pass: worst <= 1000,
    },
  ];
  const notes = [
    `Same tree and database for both sides (the real iTop 3.2 with the tests' module, cron_max_execution_time ${RUN_SECONDS}, cron_sleep 2, --verbose=1), registry emptied before each run; CPU from GNU time %U+%S, which counts the PHP worker itop-cron reaps; the PHP share from a php wrapper under GNU time given as --php_bin (its own cost, one exec, is in the PHP share).`,
    `itop-cron with itop_cron.php_tasks = every class cron.php lists (${classes.length}); each run checked to have no native task run. ${reps} alternated runs per side after one warm-up each; without the opcache, as shipped and of 1 s ${noCacheReps} runs each.`,
    `Bridge overhead from itop-cron's debug log of those runs: 'task run' duration (it includes the running = 1 UPDATE before the task, as cron.php's duration does) − 'PHP task answered' duration; p10 ${ms(percentile(over, 10))}, p90 ${ms(percentile(over, 90))}; medians of each run ${perRun.map((v) => v.toFixed(1)).join(', ')} ms; every PHP task (${allOver.length} runs): median ${ms(median(allOver))}.`,
    `CPU split, PHP worker / Node: 1 s runs ${sec(median(shortOurs.map((r) => r.phpCpu)))} / ${sec(median(shortOurs.map((r) => r.run.cpuSeconds - r.phpCpu)))}; 10 s runs ${sec(phpPart)} / ${sec(nodePart)}; per extra task run from 10 s to ${LONG_SECONDS} s, PHP ${ms(steadyPhpPart)} of ${ms(steady)} (${longOurs.tasks} vs ${longPhp.tasks} task runs in ${LONG_SECONDS} s).`,
    `Hung task: ${hangReps} itop-cron runs in mode hang; delays ${delays.map((d) => `${d.delayMs.toFixed(0)} ms (then ${d.next})`).join(', ')}. cron.php: ${
      phpNever
        ? `still in the hung task ${RUN_SECONDS + 5} s after its start (killed), ItopCronTestOther never run, the probe's row left running = 1.`
        : `ended alone: ${phpHung.endedAlone}, ItopCronTestOther runs ${phpHung.otherRuns}, probe running ${phpHung.probeRunning}.`
    }`,
  ];
  return { rows, notes };
}

/** Median time (ms) of a one-row autocommit UPDATE of the registry (a real change each time: a durable commit). */
async function updateTimes(s: Side, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await s.query("UPDATE priv_backgroundtask SET running = 1 - running WHERE class_name = 'ItopCronTestOther'");
    times.push(performance.now() - t);
  }
  return median(times);
}

/** The php group; its rows are empty (with the reason in the notes) where PHP or the shared tree is missing. */
export async function phpBridgeFigures(server: BenchServer, reps: number): Promise<{ rows: ResultRow[]; notes: string[] }> {
  const missing = realItopMissing();
  if (missing !== undefined) return { rows: [], notes: [`not measured: ${missing}`] };
  if (!existsSync(GNU_TIME)) return { rows: [], notes: [`not measured: GNU time (${GNU_TIME}) is missing; it counts the CPU of the PHP processes`] };
  const name = `bench_php_${randomBytes(3).toString('hex')}`;
  await server.root.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const dir = mkdtempSync(join(tmpdir(), 'itop-cron-bench-php-'));
  let tree: ItopTree | undefined;
  let conn: Connection | undefined;
  try {
    const target = { host: '127.0.0.1', port: server.port, user: 'root', password: '', url: `mysql://root@127.0.0.1:${server.port}` };
    tree = await unpackInstalledItop({ server: target, name }, { modulePhp: MODULE, cronMax: RUN_SECONDS });
    const params = join(dir, 'cron.params');
    writeFileSync(params, `auth_user=${ITOP_ADMIN.login}\nauth_pwd=${ITOP_ADMIN.password}\n`);
    chmodSync(params, 0o600);
    const phpCpuFile = join(dir, 'php-cpu');
    const phpBin = join(dir, 'php');
    writeFileSync(phpBin, `#!/bin/sh\nexec ${GNU_TIME} -a -o '${phpCpuFile}' -f '%U %S' php "$@"\n`);
    chmodSync(phpBin, 0o700);
    conn = await mysql.createConnection({ host: target.host, port: target.port, user: target.user, password: target.password, database: name });
    const c = conn;
    const side: Side = {
      root: tree.root, configFile: tree.configFile, params, phpBin, phpCpuFile,
      async query<T>(sql: string) {
        const [r] = await c.query(sql);
        return r as T[];
      },
    };
    return await measure(side, reps);
  } finally {
    await conn?.end().catch(() => undefined);
    tree?.remove();
    rmSync(dir, { recursive: true, force: true });
    await server.root.query(`DROP DATABASE IF EXISTS \`${name}\``);
  }
}
