// loadConfig: locating config-itop.php, layering (CLI > parameter file > env > config file > defaults),
// validation with one-line errors, and the frozen result. Real files in temporary directories, no mocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, CronError } from '../src/errors.js';
import { describeDbHost, findDefaultSocket, loadConfig, type LoadConfigOptions } from '../src/config/load.js';
import { loadDotEnv, readEnvSettings } from '../src/config/env.js';
import { resolveRunOptions } from '../src/config/argv.js';

const REAL = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'config', 'config-itop.php');

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'itop-cron-load-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a config-itop.php holding `entries` (PHP source of the array body) plus a database name. */
function writeConfig(file: string, entries = '', withDbName = true): string {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = withDbName ? "'db_name' => 'itop', 'db_host' => '127.0.0.1', 'db_pwd' => 'Pa55word'," : '';
  writeFileSync(file, `<?php\n$MySettings = array(\n  ${db}\n  ${entries}\n);\n`);
  return file;
}

function load(opts: Partial<LoadConfigOptions>): ReturnType<typeof loadConfig> {
  return loadConfig({ raw: {}, env: {}, cwd: '/', ...opts });
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.equal(e.exitCode, 254);
    return e.message;
  }
  return assert.fail('no error thrown');
}

test('the real config-itop.php, with iTop defaults for what it does not set', () => {
  const c = load({ configPath: REAL });
  assert.equal(c.configFile, REAL);
  assert.equal(c.appRoot, undefined, 'the fixture does not sit in <root>/conf/production');
  assert.deepEqual(c.db, {
    host: '127.0.0.1', user: 'itop', password: 'itop', name: 'itop', prefix: '',
    tlsEnabled: false, tlsCa: undefined, socketPath: undefined,
  });
  assert.equal(c.timezone, 'Europe/Paris');
  assert.deepEqual(c.cron, { maxExecutionTime: 600, taskMaxExecutionTime: 0, sleep: 2 });
  assert.equal(c.accessMode, 3);
  assert.equal(c.moduleSettings['itop-backup']?.['week_days'], 'monday, tuesday, wednesday, thursday, friday');
  assert.equal(c.settings['email_transport'], 'PHPMail');
  assert.deepEqual(c.extensions, []);
  assert.equal(c.ownsRegistry, false);
  assert.deepEqual(c.log, { destination: 'stderr', level: 'info' });
});

test('the result is deeply frozen', () => {
  const c = load({ configPath: REAL });
  for (const o of [c, c.db, c.cron, c.log, c.settings, c.settings['date_and_time_format'], c.moduleSettings['itop-backup']]) {
    assert.ok(Object.isFrozen(o));
  }
  assert.throws(() => {
    (c.db as { name: string }).name = 'other';
  }, TypeError);
});

test('locating the config: --config > ITOP_CONFIG > <itop_root>/conf/production; appRoot from the root', (t) => {
  const dir = tempDir(t);
  const rootConfig = writeConfig(path.join(dir, 'itop', 'conf', 'production', 'config-itop.php'), "'db_subname' => 'root_',");
  const envConfig = writeConfig(path.join(dir, 'env.php'), "'db_subname' => 'env_',");
  const cliConfig = writeConfig(path.join(dir, 'cli.php'), "'db_subname' => 'cli_',");
  const env = { ITOP_CONFIG: envConfig, ITOP_ROOT: path.join(dir, 'itop') };
  assert.equal(load({ env, raw: { config: 'cli.php' }, cwd: dir }).db.prefix, 'cli_');
  assert.equal(load({ env, cwd: dir, configPath: cliConfig }).configFile, cliConfig);
  assert.equal(load({ env }).db.prefix, 'env_');
  assert.equal(load({ env }).appRoot, path.join(dir, 'itop'), 'ITOP_ROOT still gives the root');
  const byRoot = load({ raw: { itop_root: 'itop' }, cwd: dir });
  assert.equal(byRoot.configFile, rootConfig);
  assert.equal(byRoot.appRoot, path.join(dir, 'itop'));
  assert.equal(load({ itopRoot: path.join(dir, 'itop') }).db.prefix, 'root_');
  assert.equal(load({ configPath: rootConfig }).appRoot, path.join(dir, 'itop'), 'a config in conf/production names its root');
  const real = path.join(dir, 'real', 'conf', 'production', 'config-itop.php');
  mkdirSync(path.dirname(real), { recursive: true });
  copyFileSync(REAL, real);
  const fromRealRoot = load({ env: { ITOP_ROOT: path.join(dir, 'real') } });
  assert.equal(fromRealRoot.configFile, real);
  assert.equal(fromRealRoot.db.name, 'itop');
});

test('a named config that cannot be read is a ConfigError; an iTop root without one is "not yet installed"', (t) => {
  const dir = tempDir(t);
  const missing = path.join(dir, 'nope.php');
  assert.equal(configError(() => load({ configPath: missing })), `Cannot read iTop configuration '${missing}': no such file`);
  assert.equal(configError(() => load({ configPath: dir })), `Cannot read iTop configuration '${dir}': is a directory`);
  assert.throws(() => load({ itopRoot: dir }), (e: unknown) => {
    assert.ok(e instanceof CronError && !(e instanceof ConfigError));
    assert.equal(e.code, 'ENOTINSTALLED');
    assert.equal(e.exitCode, 255);
    assert.equal(e.message, 'iTop is not yet installed. Exiting...');
    return true;
  });
});

test('without a config file the environment gives the database; without db_name it says what to set', (t) => {
  const c = load({
    env: { ITOP_DB_NAME: 'itopdb', ITOP_DB_HOST: 'db:3307', ITOP_DB_USER: 'u', ITOP_DB_PWD: 'p', ITOP_DB_SUBNAME: 'x_' },
  });
  assert.equal(c.configFile, undefined);
  assert.equal(c.appRoot, undefined);
  assert.deepEqual([c.db.name, c.db.host, c.db.user, c.db.password, c.db.prefix], ['itopdb', 'db:3307', 'u', 'p', 'x_']);
  assert.equal(c.timezone, 'Europe/Paris');
  assert.match(configError(() => load({})), /^No iTop configuration found: set --config, ITOP_CONFIG or ITOP_ROOT .*ITOP_DB_NAME/);
  const file = writeConfig(path.join(tempDir(t), 'c.php'), "'db_host' => 'h',", false);
  assert.equal(configError(() => load({ configPath: file })), `Missing 'db_name' in ${file}: set it there or with ITOP_DB_NAME`);
});

test('precedence: CLI > parameter file > environment > config file > default', (t) => {
  const dir = tempDir(t);
  const withKey = writeConfig(path.join(dir, 'with.php'), "'cron_sleep' => 7, 'db_user' => 'config_user',");
  const without = writeConfig(path.join(dir, 'without.php'));
  writeFileSync(path.join(dir, 'cron.params'), 'cron_sleep=5\ndb_user=file_user\n');
  const env = { ITOP_CRON_SLEEP: '6', ITOP_DB_USER: 'env_user' };
  // `--nofile=1` points the default parameter file elsewhere, so that no file is read.
  const run = (argv: string[]): ReturnType<typeof loadConfig> => {
    const raw = resolveRunOptions(argv, dir, argv.includes('--nofile=1') ? 'absent.params' : 'cron.params').raw;
    return load({ raw, env, cwd: dir, configPath: withKey });
  };
  const cli = run(['--cron_sleep=4', '--db_user=cli_user']);
  assert.equal(cli.cron.sleep, 4);
  assert.equal(cli.db.user, 'cli_user');
  assert.equal(cli.settings['cron_sleep'], '4', 'settings show the effective value');
  assert.equal(run([]).cron.sleep, 5);
  assert.equal(run([]).db.user, 'file_user');
  assert.equal(run(['--nofile=1']).cron.sleep, 6);
  assert.equal(run(['--nofile=1']).db.user, 'env_user');
  assert.equal(load({ configPath: withKey }).cron.sleep, 7);
  assert.equal(load({ configPath: withKey }).db.user, 'config_user');
  assert.equal(load({ configPath: without }).cron.sleep, 2);
  assert.equal(load({ configPath: without }).db.user, '');
});

test('bad numeric values: one line naming the key and the source; digit strings and 0 are fine', (t) => {
  const dir = tempDir(t);
  const expect = (key: string, source: string, value: string): string =>
    `Invalid value for '${key}' in ${source}: '${value}' (expected a non-negative integer)`;
  const base = writeConfig(path.join(dir, 'base.php'));
  assert.equal(
    configError(() => load({ configPath: base, env: { ITOP_CRON_SLEEP: 'abc' } })),
    expect('cron_sleep', 'environment variable ITOP_CRON_SLEEP', 'abc'),
  );
  assert.equal(
    configError(() => load({ configPath: base, raw: { cron_max_execution_time: '-5' } })),
    expect('cron_max_execution_time', 'the command line or parameter file', '-5'),
  );
  const negative = writeConfig(path.join(dir, 'neg.php'), "'cron_task_max_execution_time' => -1,");
  assert.equal(configError(() => load({ configPath: negative })), expect('cron_task_max_execution_time', negative, '-1'));
  const trailing = writeConfig(path.join(dir, 'trail.php'), "'cron_sleep' => '10abc',");
  assert.equal(configError(() => load({ configPath: trailing })), expect('cron_sleep', trailing, '10abc'));
  const float = writeConfig(path.join(dir, 'float.php'), "'cron_sleep' => 2.5,");
  assert.equal(configError(() => load({ configPath: float })), expect('cron_sleep', float, '2.5'));
  const fine = writeConfig(path.join(dir, 'fine.php'), "'cron_sleep' => 0, 'cron_max_execution_time' => ' 15 ',");
  assert.deepEqual(load({ configPath: fine }).cron, { maxExecutionTime: 15, taskMaxExecutionTime: 0, sleep: 0 });
  assert.doesNotMatch(configError(() => load({ configPath: trailing })), /Pa55word/);
});

test('timezone: default Europe/Paris, explicit empty is UTC, validated and canonical', (t) => {
  const dir = tempDir(t);
  const empty = writeConfig(path.join(dir, 'empty.php'), "'timezone' => '',");
  assert.equal(load({ configPath: empty }).timezone, 'UTC');
  assert.equal(load({ configPath: empty, env: { ITOP_TIMEZONE: 'America/New_York' } }).timezone, 'America/New_York');
  assert.equal(load({ configPath: empty, env: { ITOP_TIMEZONE: '' } }).timezone, 'UTC', 'an empty variable is unset');
  assert.equal(load({ configPath: empty, raw: { timezone: 'europe/paris' } }).timezone, 'Europe/Paris');
  const bad = writeConfig(path.join(dir, 'bad.php'), "'timezone' => 'Mars/Olympus_Mons',");
  assert.equal(
    configError(() => load({ configPath: bad })),
    `Invalid value for 'timezone' in ${bad}: 'Mars/Olympus_Mons' (expected an IANA time zone such as 'Europe/Paris')`,
  );
  assert.match(configError(() => load({ configPath: empty, raw: { timezone: '+01:00' } })), /^Invalid value for 'timezone'/);
});

test('describeDbHost follows iTop\'s split on ":"', () => {
  assert.deepEqual(describeDbHost('127.0.0.1'), { host: '127.0.0.1', port: undefined, socket: false, persistent: false });
  assert.deepEqual(describeDbHost('db:3307'), { host: 'db', port: 3307, socket: false, persistent: false });
  assert.deepEqual(describeDbHost('p:db'), { host: 'db', port: undefined, socket: false, persistent: true });
  assert.deepEqual(describeDbHost('p:db:3307'), { host: 'db', port: 3307, socket: false, persistent: true });
  assert.deepEqual(describeDbHost('localhost'), { host: 'localhost', port: undefined, socket: true, persistent: false });
  assert.deepEqual(describeDbHost('p:localhost'), { host: 'localhost', port: undefined, socket: true, persistent: true });
  assert.deepEqual(describeDbHost('localhost:3306'), { host: 'localhost', port: 3306, socket: false, persistent: false });
  assert.deepEqual(describeDbHost(''), { host: 'localhost', port: undefined, socket: true, persistent: false });
});

test('db host kept raw, bad forms refused, socket from ITOP_DB_SOCKET or the usual places', (t) => {
  const dir = tempDir(t);
  const env = { ITOP_DB_NAME: 'itop' };
  assert.equal(load({ env: { ...env, ITOP_DB_HOST: 'p:db.example:3307' } }).db.host, 'p:db.example:3307');
  assert.equal(load({ env }).db.host, 'localhost', 'no host means localhost');
  for (const bad of ['::1', 'db:', 'db:port', 'db:70000', ':3306']) {
    assert.equal(
      configError(() => load({ env: { ...env, ITOP_DB_HOST: bad } })),
      `Invalid value for 'db_host' in environment variable ITOP_DB_HOST: '${bad}' (expected host, host:port, p:host or p:host:port)`,
    );
  }
  const sock = path.join(dir, 'mysqld.sock');
  assert.equal(load({ env: { ...env, ITOP_DB_HOST: 'localhost', ITOP_DB_SOCKET: sock } }).db.socketPath, sock);
  assert.equal(load({ env: { ...env, ITOP_DB_HOST: '127.0.0.1' } }).db.socketPath, undefined);
  assert.equal(load({ env: { ...env, ITOP_DB_HOST: 'localhost' } }).db.socketPath, findDefaultSocket());
  writeFileSync(sock, '');
  assert.equal(findDefaultSocket([path.join(dir, 'absent.sock'), sock]), sock);
  assert.equal(findDefaultSocket([path.join(dir, 'absent.sock')]), undefined);
});

test('TLS: PHP (bool) in the config file, strict true/false in the environment', (t) => {
  const file = writeConfig(path.join(tempDir(t), 'tls.php'), "'db_tls.enabled' => true, 'db_tls.ca' => '/etc/ssl/ca.pem',");
  const c = load({ configPath: file });
  assert.equal(c.db.tlsEnabled, true);
  assert.equal(c.db.tlsCa, '/etc/ssl/ca.pem');
  assert.equal(load({ configPath: file, env: { ITOP_DB_TLS_ENABLED: 'false' } }).db.tlsEnabled, false);
  assert.equal(load({ configPath: file, env: { ITOP_DB_TLS_ENABLED: '0' } }).db.tlsEnabled, false);
  assert.equal(
    configError(() => load({ configPath: file, env: { ITOP_DB_TLS_ENABLED: 'maybe' } })),
    "Invalid value for 'db_tls.enabled' in environment variable ITOP_DB_TLS_ENABLED: 'maybe' (expected true or false)",
  );
});

test('extensions, registry ownership and logging', (t) => {
  const dir = tempDir(t);
  const confDir = path.join(dir, 'etc');
  const file = writeConfig(
    path.join(confDir, 'c.php'),
    `'itop_cron.extensions' => array('./ext/a.js', 'itop-cron-ext', '@scope/pkg'),
     'itop_cron.owns_registry' => true, 'itop_cron.log_file' => 'cron.log', 'itop_cron.log_level' => 'debug',`,
  );
  const c = load({ configPath: file, cwd: dir, env: { ITOP_CRON_EXTENSIONS: ' ./b.js , ,itop-cron-ext' } });
  assert.deepEqual(c.extensions, [path.join(confDir, 'ext', 'a.js'), 'itop-cron-ext', '@scope/pkg', path.join(dir, 'b.js')]);
  assert.equal(c.ownsRegistry, true);
  assert.deepEqual(c.log, { destination: path.join(confDir, 'cron.log'), level: 'debug' });

  const env = { ITOP_CRON_OWN_REGISTRY: '0', ITOP_CRON_LOG: 'env.log', ITOP_CRON_LOG_LEVEL: 'WARN' };
  const e = load({ configPath: file, cwd: dir, env });
  assert.equal(e.ownsRegistry, false);
  assert.deepEqual(e.log, { destination: path.join(dir, 'env.log'), level: 'warn' });
  assert.equal(load({ configPath: file, cwd: dir, env, raw: { log_file: 'stderr' } }).log.destination, 'stderr');
  const comma = writeConfig(path.join(confDir, 'comma.php'), "'itop_cron.extensions' => 'x, ./y.js',");
  assert.deepEqual(load({ configPath: comma }).extensions, ['x', path.join(confDir, 'y.js')]);
  assert.equal(
    configError(() => load({ configPath: file, env: { ITOP_CRON_LOG_LEVEL: 'loud' } })),
    "Invalid value for 'log_level' in environment variable ITOP_CRON_LOG_LEVEL: 'loud' " +
      '(expected one of fatal, error, warn, info, debug, trace, silent)',
  );
});

test('%env()% placeholders in $MySettings and trimmed string settings', (t) => {
  const file = writeConfig(path.join(tempDir(t), 'ph.php'), "'db_user' => '  %env(DBU)%  ', 'app_root_url' => '  http://x/  ',", true);
  assert.equal(load({ configPath: file, env: { DBU: 'u1' } }).db.user, '%env(DBU)%');
  const c = load({ configPath: file, env: { DBU: 'u1', ITOP_CONFIG_PLACEHOLDERS: '1' } });
  assert.equal(c.db.user, 'u1');
  assert.equal(c.settings['app_root_url'], 'http://x/');
});

test('.env: loaded from cwd without overriding what is set; empty variables are unset', (t) => {
  const dir = tempDir(t);
  const env: NodeJS.ProcessEnv = { ITOP_DB_HOST: 'kept' };
  assert.equal(loadDotEnv(dir, env), undefined, 'no .env: nothing to do');
  writeFileSync(path.join(dir, '.env'), 'ITOP_DB_HOST=overridden\nITOP_DB_NAME=fromdotenv\nITOP_CRON_SLEEP=\nITOP_DB_PWD=\n');
  assert.equal(loadDotEnv(dir, env), path.join(dir, '.env'));
  assert.equal(env['ITOP_DB_HOST'], 'kept');
  assert.equal(env['ITOP_DB_NAME'], 'fromdotenv');
  const s = readEnvSettings(env);
  assert.equal(s.dbHost, 'kept');
  assert.equal(s.cronSleep, undefined);
  assert.equal(s.dbPwd, '', 'an empty database password is still a password');
  assert.equal(load({ env, cwd: dir }).cron.sleep, 2);
});
