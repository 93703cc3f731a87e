// Parameter files and command-line parameters, checked against every example verified against cron.php.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CronError, EXIT_FATAL } from '../src/errors.js';
import {
  htmlEscape,
  paramFileIsWorldReadable,
  parseParamFile,
  readParamFiles,
  resolveParamPath,
} from '../src/config/paramFile.js';
import { phpTruthy, readCliParam, resolveRunOptions } from '../src/config/argv.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'config');

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'itop-cron-params-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function one(line: string): [string, string][] {
  return [...parseParamFile(line)];
}

test('verified parsing examples, one line each', () => {
  assert.deepEqual(one('auth_pwd=Admin#Pwd=1'), [['auth_pwd', 'Admin']]);
  assert.deepEqual(one('auth_pwd=ab=c'), [['auth_pwd=ab', 'c']]);
  assert.deepEqual(one('auth_pwd=ab= c'), [['auth_pwd=ab', 'c']]);
  assert.deepEqual(one('auth_pwd =ab=c'), [['auth_pwd', 'ab=c']]);
  assert.deepEqual(one('auth_pwd= ab=c'), [['auth_pwd', 'ab=c']]);
  assert.deepEqual(one('k2 = v=2'), [['k2', 'v=2']]);
  assert.deepEqual(one('key = value'), [['key', 'value']]);
  assert.deepEqual(one('spaced key = x'), []);
  assert.deepEqual(one('=x'), [['', 'x']]);
  assert.deepEqual(one('key='), [['key', '']]);
  assert.deepEqual(one('quoted="a b"'), [['quoted', '"a b"']]);
  assert.deepEqual(one('no equals sign'), []);
  assert.deepEqual(one('# auth_user=admin'), []);
  assert.deepEqual(one('   auth_user=admin   # trailing comment'), [['auth_user', 'admin']]);
});

test('lines are split on \\n and trimmed, so CRLF files work; the last duplicate wins', () => {
  const params = parseParamFile('auth_user=admin\r\nauth_pwd=x\r\nauth_pwd=y\r\n');
  assert.deepEqual([...params], [['auth_user', 'admin'], ['auth_pwd', 'y']]);
});

test('PHP trim is not String#trim: a form feed or a no-break space stays in the value', () => {
  assert.equal(parseParamFile('k=v\f').get('k'), 'v\f');
  assert.equal(parseParamFile('k=\u00a0v').get('k'), '\u00a0v');
  // ... and \s in the key rule is ASCII only: a no-break space is part of the key token.
  assert.deepEqual(one('a\u00a0b=c'), [['a\u00a0b', 'c']]);
});

test('the verified fixture file parses as cron.php does', () => {
  const { files, params } = readParamFiles(path.join(FIXTURES, 'verified.params'), '/');
  assert.deepEqual(files, [path.join(FIXTURES, 'verified.params')]);
  assert.equal(params.get('auth_user'), 'admin');
  assert.equal(params.get('auth_pwd'), 'ab=c'); // the last line with the plain key auth_pwd
  assert.equal(params.get('auth_pwd=ab'), 'c');
  assert.equal(params.get('k2'), 'v=2');
  assert.equal(params.get(''), 'x');
  assert.equal(params.get('empty'), '');
  assert.equal(params.get('quoted'), '"a b"');
  assert.equal(params.get('dup'), 'second');
  assert.equal(params.get('crlf'), 'value');
  assert.equal(params.has('spaced'), false);
  assert.equal(params.has('spaced key'), false);
});

test('a comma-separated list: entries trimmed, empties skipped, relative to cwd, later files override', (t) => {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(path.join(dir, 'a.params'), 'auth_user=a\nauth_pwd=pa\nonly_a=1\n');
  writeFileSync(path.join(dir, 'sub', 'b.params'), 'auth_pwd=pb\n');
  const { files, params } = readParamFiles(' a.params , ,sub/b.params,', dir);
  assert.deepEqual(files, [path.join(dir, 'a.params'), path.join(dir, 'sub', 'b.params')]);
  assert.deepEqual(Object.fromEntries(params), { auth_user: 'a', auth_pwd: 'pb', only_a: '1' });
});

test('a missing file: CronError EPARAMFILE, exit 254, path HTML-escaped as given', () => {
  assert.throws(
    () => readParamFiles('/nonexistent/x.params', '/'),
    (e: unknown) => {
      assert.ok(e instanceof CronError);
      assert.equal(e.code, 'EPARAMFILE');
      assert.equal(e.exitCode, EXIT_FATAL);
      assert.equal(e.exitCode, 254);
      assert.equal(e.message, "Could not find the parameter file: '/nonexistent/x.params'");
      return true;
    },
  );
  assert.throws(() => readParamFiles(`/nonexistent/<a&b>"c'.params`, '/'), {
    message: "Could not find the parameter file: '/nonexistent/&lt;a&amp;b&gt;&quot;c&#039;.params'",
  });
  assert.equal(htmlEscape(`&<>"'x`), '&amp;&lt;&gt;&quot;&#039;x');
});

test('an unreadable parameter file gives "Could not load parameter file"', (t) => {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'adir.params'));
  assert.throws(() => readParamFiles('adir.params', dir), {
    name: 'CronError',
    code: 'EPARAMFILE',
    message: "Could not load parameter file: 'adir.params'",
  });
});

test('Windows paths are absolute on any OS, never joined to cwd', () => {
  assert.equal(resolveParamPath('C:\\itop\\cron.params', '/srv/work'), 'C:\\itop\\cron.params');
  assert.equal(resolveParamPath('C:/x/y', '/srv/work'), 'C:/x/y');
  assert.equal(resolveParamPath('\\\\server\\share\\cron.params', '/srv/work'), '\\\\server\\share\\cron.params');
  assert.equal(resolveParamPath('/etc/itop/cron.params', '/srv/work'), '/etc/itop/cron.params');
  assert.equal(resolveParamPath('cron.params', '/srv/work'), path.resolve('/srv/work', 'cron.params'));
  if (process.platform !== 'win32') {
    assert.throws(() => readParamFiles('C:\\itop\\cron.params', '/srv/work'), {
      message: "Could not find the parameter file: 'C:\\itop\\cron.params'",
    });
  }
});

test('paramFileIsWorldReadable reads the "others may read" bit', { skip: process.platform === 'win32' }, (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'cron.params');
  writeFileSync(file, 'auth_user=admin\n');
  chmodSync(file, 0o644);
  assert.equal(paramFileIsWorldReadable(file), true);
  chmodSync(file, 0o600);
  assert.equal(paramFileIsWorldReadable(file), false);
  assert.equal(paramFileIsWorldReadable(path.join(dir, 'missing')), false);
});

test('readCliParam: --key=value only, last match wins, bare flags ignored, name escaped', () => {
  const argv = ['--auth_pwd=one', '--verbose', '--auth_pwd=two', 'auth_pwd=three', '--auth_pwd', 'four'];
  assert.equal(readCliParam(argv, 'auth_pwd'), 'two');
  assert.equal(readCliParam(argv, 'verbose'), undefined);
  assert.equal(readCliParam(['--verbose='], 'verbose'), '');
  assert.equal(readCliParam(['--a=b=c'], 'a'), 'b=c');
  assert.equal(readCliParam(['--axb=1'], 'a.b'), undefined);
  assert.equal(readCliParam(['--a.b=1'], 'a.b'), '1');
});

test('phpTruthy: "0", "" and missing are false, anything else ("false", "no") true', () => {
  assert.equal(phpTruthy(undefined), false);
  assert.equal(phpTruthy(''), false);
  assert.equal(phpTruthy('0'), false);
  for (const v of ['1', 'false', 'no', ' ', '00', 'yes']) assert.equal(phpTruthy(v), true, v);
});

test('resolveRunOptions: CLI over parameter file over default; flags filtered and PHP-truthy', (t) => {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'f.params'), 'auth_user= admin \nauth_pwd=filepwd\nverbose=1\ndebug=1\nstatus_only=no\n');
  const o = resolveRunOptions(
    ['--param_file=f.params', '--auth_pwd=  clipwd  ', '--debug=yes!', '--auth_pwd= last ', '--cron_sleep=5'],
    dir,
  );
  assert.equal(o.authUser, 'admin');
  assert.equal(o.authPwd, 'last');
  assert.equal(o.verbose, true);
  assert.equal(o.debug, false, '--debug=yes! is rejected by the filter and gives the default, not the file value');
  assert.equal(o.statusOnly, true, '"no" is truthy for PHP');
  assert.equal(o.passwordOnCommandLine, true);
  assert.deepEqual(o.paramFiles, [path.join(dir, 'f.params')]);
  assert.equal(o.raw['cron_sleep'], '5');
  assert.equal(o.raw['auth_pwd'], ' last ', 'raw keeps the last --key=value untouched');
  assert.equal(o.raw['param_file'], 'f.params');
  assert.equal(o.raw['verbose'], '1');
});

test('resolveRunOptions: missing credentials stay undefined, an empty one is not missing', (t) => {
  const dir = tempDir(t);
  const o = resolveRunOptions(['--auth_user=', '--verbose'], dir);
  assert.equal(o.authUser, '');
  assert.equal(o.authPwd, undefined);
  assert.equal(o.verbose, false);
  assert.equal(o.passwordOnCommandLine, false);
  assert.deepEqual(o.paramFiles, []);
});

test('resolveRunOptions reads <cwd>/cron.params when no --param_file is given, and only then', (t) => {
  const dir = tempDir(t);
  assert.deepEqual(resolveRunOptions([], dir).paramFiles, [], 'absent: silently skipped');
  writeFileSync(path.join(dir, 'cron.params'), 'auth_user=fromdefault\n');
  writeFileSync(path.join(dir, 'other.params'), 'auth_pwd=other\n');
  const byDefault = resolveRunOptions([], dir);
  assert.deepEqual(byDefault.paramFiles, [path.join(dir, 'cron.params')]);
  assert.equal(byDefault.authUser, 'fromdefault');
  const named = resolveRunOptions(['--param_file=other.params'], dir);
  assert.deepEqual(named.paramFiles, [path.join(dir, 'other.params')]);
  assert.equal(named.authUser, undefined);
  assert.equal(named.authPwd, 'other');
  assert.equal(resolveRunOptions([], dir, 'nothing-here.params').authUser, undefined);
  assert.throws(() => resolveRunOptions(['--param_file=missing.params'], dir), { code: 'EPARAMFILE' });
});

test('a parameter-file key named __proto__ is stored as data, not as a prototype', (t) => {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'p.params'), '__proto__=x\n');
  const o = resolveRunOptions(['--param_file=p.params'], dir);
  assert.equal(Object.getOwnPropertyDescriptor(o.raw, '__proto__')?.value, 'x');
  assert.equal(Object.getPrototypeOf(o.raw), Object.prototype);
});
