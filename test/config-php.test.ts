// The config-itop.php reader and PHP's value semantics, on the real file written by iTop 3.2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../src/errors.js';
import { parsePhpConfig } from '../src/config/phpConfig.js';
import {
  expandPlaceholders,
  moduleSetting,
  phpBool,
  phpInt,
  phpString,
  phpTrim,
  settingBool,
  settingInt,
  settingString,
} from '../src/config/php.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'config');
const REAL = path.join(FIXTURES, 'config-itop.php');

function parse(body: string): ReturnType<typeof parsePhpConfig> {
  return parsePhpConfig(`<?php\n${body}`, 'test.php');
}

function syntaxError(text: string): string {
  try {
    parsePhpConfig(text, 'conf.php');
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.equal(e.exitCode, 254);
    assert.doesNotMatch(e.message, /\n/, 'one line');
    return e.message;
  }
  return assert.fail('no error thrown');
}

test('the real config-itop.php of iTop 3.2', () => {
  const { settings, moduleSettings, modules } = parsePhpConfig(readFileSync(REAL, 'utf8'), REAL);
  assert.equal(settings['db_host'], '127.0.0.1');
  assert.equal(settings['db_name'], 'itop');
  assert.equal(settings['db_user'], 'itop');
  assert.equal(settings['db_subname'], '');
  assert.equal(settings['timezone'], 'Europe/Paris');
  assert.equal(settings['cron_max_execution_time'], 600);
  assert.equal(settings['access_mode'], 3);
  assert.equal(settings['email_asynchronous'], false);
  assert.equal(settings['apc_cache.enabled'], true);
  // single-quoted escapes: \' and \\ decoded, other backslashes kept
  assert.equal(settings['email_validation_pattern'], "[a-zA-Z0-9._&'-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z0-9-]{2,}");
  assert.equal(settings['link_set_attribute_qualifier'], "'");
  assert.equal(settings['ext_auth_variable'], "$_SERVER['REMOTE_USER']");
  assert.deepEqual(settings['csv_import_charsets'], []);
  assert.deepEqual(settings['date_and_time_format'], { default: { date: 'Y-m-d', time: 'H:i:s', date_time: '$date $time' } });
  assert.deepEqual(settings['mentions.allowed_classes'], { '@': 'Person' });
  assert.equal(moduleSettings['itop-backup']?.['week_days'], 'monday, tuesday, wednesday, thursday, friday');
  assert.equal(moduleSettings['itop-backup']?.['time'], '23:30');
  assert.equal(moduleSettings['itop-backup']?.['retention_count'], 5);
  assert.equal(moduleSettings['itop-backup']?.['enabled'], true);
  assert.deepEqual(moduleSettings['itop-attachments']?.['allowed_classes'], ['Ticket']);
  assert.deepEqual(moduleSettings['authent-ldap']?.['options'], { 17: 3, 8: 0 });
  assert.deepEqual(modules, { addons: { 'user rights': 'addons/userrights/userrightsprofile.class.inc.php' } });
});

test('literals: ints, floats, negatives, true/false/null in any case, double quotes, [] arrays', () => {
  const { settings } = parse(`
    # hash comment
    /* block
       comment */
    $MySettings = [
      'i' => 42, 'neg' => -7, 'plus' => +3, 'f' => 1.5, 'e' => 1.0E+25, 'oct' => 010, 'hex' => 0x1F,
      'T' => TRUE, 'F' => False, 'N' => NULL,
      "dq" => "a\\tb\\n\\x41\\101\\\\\\"\\$",
      'unknown' => 'back\\slash \\n stays',
      'list' => array ('a', 'b', ),
      'holes' => array (0 => 'a', 2 => 'c'),
      'reordered' => array (1 => 'b', 0 => 'a'),
      'auto' => array (5 => 'x', 'y', '7' => 'z', 'w'),
      'dupe' => array ('k' => 1, 'k' => 2),
    ];
  `);
  assert.equal(settings['i'], 42);
  assert.equal(settings['neg'], -7);
  assert.equal(settings['plus'], 3);
  assert.equal(settings['f'], 1.5);
  assert.equal(settings['e'], 1e25);
  assert.equal(settings['oct'], 8);
  assert.equal(settings['hex'], 31);
  assert.equal(settings['T'], true);
  assert.equal(settings['F'], false);
  assert.equal(settings['N'], null);
  assert.equal(settings['dq'], 'a\tb\nAA\\"$');
  assert.equal(settings['unknown'], 'back\\slash \\n stays');
  assert.deepEqual(settings['list'], ['a', 'b']);
  assert.deepEqual(settings['holes'], { 0: 'a', 2: 'c' });
  assert.deepEqual(settings['reordered'], { 1: 'b', 0: 'a' });
  assert.deepEqual(settings['auto'], { 5: 'x', 6: 'y', 7: 'z', 8: 'w' });
  assert.deepEqual(settings['dupe'], { k: 2 });
});

test('index assignments, a closing ?> and missing optional arrays', () => {
  const r = parse(`$MySettings = array('a' => 1);\n$MySettings['b']['c'] = 'x';\n$MySettings['list'][] = 'p';\n?>\nignored <html>`);
  assert.deepEqual(r.settings, { a: 1, b: { c: 'x' }, list: ['p'] });
  assert.deepEqual(r.moduleSettings, {});
  assert.deepEqual(r.modules, {});
});

test('syntax errors: one line, file and line number, what was expected', () => {
  assert.equal(syntaxError('no php here'), "conf.php: line 1: expected '<?php' at the start of the file");
  assert.equal(
    syntaxError("<?php\n$MySettings = array(\n  'a' => 1\n  'b' => 2,\n);\n"),
    "conf.php: line 4: expected ',' or ')', found a string",
  );
  assert.equal(syntaxError("<?php\n$MySettings = array(\n  'a' => 1;\n"), "conf.php: line 3: expected ',' or ')', found ';'");
  assert.equal(syntaxError("<?php\n\n$MySettings = array('a' => 1)\n"), "conf.php: line 4: expected ';', found the end of the file");
  assert.equal(
    syntaxError("<?php\n$MySettings = array('a' => getenv('X'));"),
    'conf.php: line 2: expected a value (string, number, true, false, null or array), found a name',
  );
  assert.equal(syntaxError("<?php\n$MySettings = array('a\n\n => 1);"), "conf.php: line 2: unterminated string: expected a closing '");
  assert.equal(syntaxError('<?php\n/* never closed'), "conf.php: line 2: unterminated comment: expected '*/'");
  assert.equal(
    syntaxError('<?php\n$MySettings = "a $x";'),
    'conf.php: line 2: variables inside double-quoted strings are not supported: use single quotes',
  );
  assert.equal(syntaxError('<?php\n$MyModules = array();'), 'conf.php: no $MySettings array found');
  assert.equal(syntaxError("<?php\n$MySettings = 'x';"), 'conf.php: $MySettings is not an array');
  assert.equal(syntaxError("<?php\necho 'x';"), "conf.php: line 2: expected a variable such as '$MySettings', found a name");
});

test('a malformed config never shows the password in its error', () => {
  const file = path.join(FIXTURES, 'malformed-config.php');
  const text = readFileSync(file, 'utf8');
  assert.match(text, /S3cr3t-Pa55/, 'the fixture holds a password');
  const message = syntaxError(text);
  assert.equal(message, "conf.php: line 5: expected ',' or ')', found a string");
  assert.doesNotMatch(message, /S3cr3t|oops/);
  // and an unquoted password is not echoed either
  const bare = syntaxError("<?php\n$MySettings = array('db_pwd' => Hunter2!);");
  assert.doesNotMatch(bare, /Hunter2|!/);
  assert.match(bare, /^conf\.php: line 2: /);
});

test('phpInt is PHP\'s (int) cast', () => {
  assert.equal(phpInt('12abc'), 12);
  assert.equal(phpInt('abc'), 0);
  assert.equal(phpInt('  42'), 42);
  assert.equal(phpInt('-3.9'), -3);
  assert.equal(phpInt('1e3'), 1000);
  assert.equal(phpInt('0x1A'), 0);
  assert.equal(phpInt(''), 0);
  assert.equal(phpInt(true), 1);
  assert.equal(phpInt(false), 0);
  assert.equal(phpInt(null), 0);
  assert.equal(phpInt(undefined), 0);
  assert.equal(phpInt(2.9), 2);
  assert.equal(phpInt(-2.9), -2);
  assert.equal(phpInt([]), 0);
  assert.equal(phpInt(['x']), 1);
  assert.equal(phpInt({}), 0);
});

test('phpBool is PHP\'s (bool) cast', () => {
  for (const v of ['', '0', 0, 0.0, null, false, [], {}, undefined]) assert.equal(phpBool(v), false, JSON.stringify(v));
  for (const v of ['false', 'no', '0.0', ' ', '00', 1, -1, 0.1, true, ['x'], { a: 1 }]) assert.equal(phpBool(v), true, JSON.stringify(v));
});

test('phpString converts like PHP and trims like PHP trim()', () => {
  assert.equal(phpString('  x \t\n'), 'x');
  assert.equal(phpString('\fx'), '\fx', 'PHP trim keeps \\f');
  assert.equal(phpString(true), '1');
  assert.equal(phpString(false), '');
  assert.equal(phpString(null), '');
  assert.equal(phpString(12), '12');
  assert.equal(phpString(1.5), '1.5');
  assert.equal(phpString(1e25), '1.0E+25');
  assert.equal(phpString(1.5e25), '1.5E+25');
  assert.equal(phpString(['a']), 'Array');
  assert.equal(phpTrim('\0 x \v'), 'x');
});

test('setting accessors: isset semantics (null is absent), then the cast', () => {
  const s = { n: null, i: '12abc', b: 'false', z: '0', str: '  v  ', arr: [] };
  assert.equal(settingInt(s, 'n', 7), 7);
  assert.equal(settingInt(s, 'missing', 7), 7);
  assert.equal(settingInt(s, 'i', 7), 12);
  assert.equal(settingBool(s, 'b', false), true);
  assert.equal(settingBool(s, 'z', true), false);
  assert.equal(settingBool(s, 'n', true), true);
  assert.equal(settingString(s, 'str', 'd'), 'v');
  assert.equal(settingString(s, 'n', 'd'), 'd');
  assert.equal(settingString(s, 'toString', 'd'), 'd', 'never reads Object.prototype');
  const mod = { 'itop-backup': { week_days: 'monday', time: null } };
  assert.equal(moduleSetting(mod, 'itop-backup', 'week_days', 'all'), 'monday');
  assert.equal(moduleSetting(mod, 'itop-backup', 'time', '23:30'), '23:30');
  assert.equal(moduleSetting(mod, 'itop-backup', 'retention_count', 5), 5);
  assert.equal(moduleSetting(mod, 'other', 'x', undefined), undefined);
});

test('%env()% placeholders: only with ITOP_CONFIG_PLACEHOLDERS, defaults, nested, unknown is an error', () => {
  const settings = {
    db_pwd: '%env(DB_PWD)%',
    db_host: 'db-%env(NO_SUCH)?:local%:%server(PORT)%',
    nested: { a: ['%env(DB_PWD)%'] },
    n: 5,
  };
  const env = { DB_PWD: 'from-env', PORT: '3307' };
  assert.deepEqual(expandPlaceholders(settings, env, 'f.php'), settings, 'off without ITOP_CONFIG_PLACEHOLDERS');
  assert.deepEqual(expandPlaceholders(settings, { ...env, ITOP_CONFIG_PLACEHOLDERS: '0' }, 'f.php'), settings, '"0" is empty for PHP');
  const on = expandPlaceholders(settings, { ...env, ITOP_CONFIG_PLACEHOLDERS: '1' }, 'f.php');
  assert.deepEqual(on, { db_pwd: 'from-env', db_host: 'db-local:3307', nested: { a: ['from-env'] }, n: 5 });
  assert.throws(() => expandPlaceholders({ db_pwd: '%env(MISSING)%' }, { ITOP_CONFIG_PLACEHOLDERS: '1' }, 'f.php'), {
    name: 'ConfigError',
    message: "Invalid value for 'db_pwd' in f.php: the placeholder %env(MISSING)% names a variable that is not set",
  });
});
