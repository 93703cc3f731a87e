/**
 * The built CLI's argument messages: a mistyped password never reaches stdout (the crontab line sends it to
 * cron.log), near misses get a did-you-mean, itop-cron's own subcommands take `--name value`, and every
 * subcommand has --help.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';

const SECRET = 'S3cretPa55';

test('a mistyped password argument is never repeated, in any form, by any command', async () => {
  const forms = [
    ['--auth_pwd', SECRET],
    [`--auth-pwd=${SECRET}`],
    [`-auth_pwd=${SECRET}`],
    [`auth_pwd=${SECRET}`],
    ['--auth_pwd=', SECRET],
    [`--password=${SECRET}`],
    [`--db-pwd=${SECRET}`],
    ['--api_token', SECRET],
    [SECRET],
  ];
  for (const command of [[], ['status'], ['history'], ['task', 'list'], ['serve'], ['init']]) {
    for (const form of forms) {
      const r = await runCli([...command, '--config=/nonexistent/config-itop.php', ...form]);
      assert.equal(r.code, 254, `${[...command, ...form].join(' ')}: ${r.stdout}`);
      assert.match(r.stdout, /^Error: /);
      assert.equal(r.stdout.split('\n').length, 2, `one line: ${r.stdout}`);
      assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), `${form.join(' ')} echoed: ${r.stdout}${r.stderr}`);
    }
  }
});

test('the messages still say what is wrong: position, key, did-you-mean', async () => {
  const spaced = await runCli(['--auth_pwd', SECRET]);
  assert.equal(
    spaced.stdout,
    "Error: Unexpected argument number 2 after '--auth_pwd' (arguments are --name=value; write --auth_pwd=<value> as one argument; the argument itself is not shown)\n",
  );
  const dashed = await runCli([`--auth-pwd=${SECRET}`]);
  assert.equal(dashed.stdout, "Error: Unknown argument '--auth-pwd', did you mean --auth_pwd=...? (see itop-cron --help)\n");
  const status = await runCli(['--status-only=1']);
  assert.equal(status.stdout, "Error: Unknown argument '--status-only', did you mean --status_only=1? (see itop-cron --help)\n");
  const sub = await runCli(['status', '--max-lateness=60']);
  assert.equal(sub.stdout, "Error: Unknown argument '--max-lateness', did you mean --max_lateness=60? (see --help)\n");
  const word = await runCli(['--config=/x', 'auth_user=admin']);
  assert.equal(word.stdout, "Error: Unexpected argument 'auth_user=...' (arguments are --name=value)\n");
  const command = await runCli(['stauts']);
  assert.equal(command.stdout, "Error: Unknown command 'stauts' (did you mean itop-cron status?)\n");
  const action = await runCli(['task', 'lsit', '--config=/nonexistent/c.php']);
  assert.match(action.stdout, /^Error: Unknown action 'lsit', did you mean list\? /);
});

test('a bare --status_only is ignored as cron.php ignores it, with a hint on stderr only', async () => {
  const r = await runCli(['--status_only', '--config=/nonexistent/config-itop.php']);
  assert.equal(r.code, 254);
  assert.equal(r.stdout, "Error: Cannot read iTop configuration '/nonexistent/config-itop.php': no such file\n");
  assert.match(r.stderr, /'--status_only' without a value is ignored, as cron\.php ignores it: write --status_only=1/);
});

test('subcommands take --name value for their own options; cron.php arguments keep --name=value', async () => {
  // --limit 3 is the limit, not a task named 3: the run goes on to the configuration, which is missing.
  const limit = await runCli(['history', '--limit', '3', '--config', '/nonexistent/c.php']);
  assert.equal(limit.stdout, "Error: Cannot read iTop configuration '/nonexistent/c.php': no such file\n");
  const bad = await runCli(['history', '--limit', 'x', '--config', '/nonexistent/c.php']);
  assert.equal(bad.stdout, "Error: Invalid value for '--limit': 'x' (expected a number >= 1)\n");
  const port = await runCli(['serve', '--port', '99999', '--config', '/nonexistent/c.php']);
  assert.equal(port.stdout, "Error: Cannot read iTop configuration '/nonexistent/c.php': no such file\n");
  const portEq = await runCli(['serve', '--port=99999', '--config=/nonexistent/c.php']);
  assert.equal(portEq.stdout, port.stdout);
  const pf = await runCli(['status', '--param_file', '/nonexistent/p']);
  assert.equal(pf.stdout, "Error: Argument '--param_file' needs a value (--param_file=...)\n");
});

test('every subcommand has --help, and itop-cron help <cmd> prints the same', async () => {
  for (const cmd of ['serve', 'status', 'task', 'history', 'init']) {
    const direct = await runCli([cmd, '--help']);
    assert.equal(direct.code, 0, cmd);
    assert.match(direct.stdout, new RegExp(`^Usage: itop-cron ${cmd}`));
    const viaHelp = await runCli(['help', cmd]);
    assert.equal(viaHelp.stdout, direct.stdout);
  }
  const main = await runCli(['--help']);
  assert.match(main.stdout, /--mysql_bindir=<dir>/);
});
