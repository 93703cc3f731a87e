// Cluster mode with iTop's own PHP tasks, on a real installed iTop 3.2 with the tests' module: two runners
// of the built CLI share its database, each with its own PHP worker; every occurrence of a PHP task
// (ObsolescenceDateUpdater, the module's classes) runs once, on whichever runner claimed it.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { runCli, writeParamFile } from './helpers/cli.js';
import { ADMIN, installedItop, realItopMissing, setItopSetting } from './helpers/installedItop.js';

const MODULE = readFileSync(join(import.meta.dirname, 'fixtures', 'itop-cron-test-module.php'), 'utf8');

test('two cluster runners on one real iTop: each PHP task occurrence runs once, in the worker of the runner that claimed it', { skip: realItopMissing(), timeout: 300_000 }, async (t) => {
  const itop = await installedItop(t, { modulePhp: MODULE });
  writeFileSync(join(itop.root, 'data', 'itop-cron-test.mode'), 'ok');
  for (const [k, v] of [['itop_cron.cluster', 'true'], ['itop_cron.cluster_renew_seconds', '1'], ['itop_cron.cluster_ttl_seconds', '4'], ['cron_sleep', '1']] as const) {
    setItopSetting(itop.configFile, k, v);
  }
  const params = writeParamFile(`auth_user=${ADMIN.login}\nauth_pwd=${ADMIN.password}\n`);
  const run = (): ReturnType<typeof runCli> =>
    runCli([`--param_file=${params}`, `--itop_root=${itop.root}`, '--verbose=1'], {
      env: { ITOP_CRON_MAX_EXECUTION_TIME: '20', ITOP_CRON_LOG_LEVEL: 'debug' },
      timeoutMs: 180_000,
    });
  const results = await Promise.all([run(), run()]);
  for (const r of results) {
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /Already running|ERROR/, r.stdout);
  }
  const rows = await itop.db.query<{ class_name: string; planned: string; host: string; outcome: string }>(
    `SELECT class_name, planned, host, outcome FROM ${itop.db.table('itop_cron_run_history')} ORDER BY id`,
  );
  const seen = new Map<string, number>();
  for (const r of rows) seen.set(`${r.class_name} @ ${r.planned}`, (seen.get(`${r.class_name} @ ${r.planned}`) ?? 0) + 1);
  assert.deepEqual([...seen].filter(([, n]) => n > 1), [], 'no occurrence ran twice');
  const php = rows.filter((r) => ['ObsolescenceDateUpdater', 'ItopCronTestProbe', 'ItopCronTestOther'].includes(r.class_name));
  t.diagnostic(`${php.length} PHP task runs: ${[...new Set(php.map((r) => `${r.class_name} on ${r.host}`))].join(', ')}`);
  assert.ok(php.some((r) => r.class_name === 'ObsolescenceDateUpdater' && r.outcome === 'success'), 'iTop\'s ObsolescenceDateUpdater ran through the bridge');
  assert.ok(php.filter((r) => r.class_name === 'ItopCronTestOther').length >= 5, 'the module\'s 1-second class kept running');
  // Which runner wins each claim is a race (test/multi-runner.test.ts shows a busy runner's tasks going to
  // the other): here, only that every PHP run was one runner's, in its own worker.
  for (const r of results) {
    const mine = r.stderr.split('\n').filter((l) => l.includes('"msg":"PHP task answered"')).length;
    const ready = r.stderr.split('\n').filter((l) => l.includes('"msg":"PHP worker ready"')).length;
    assert.ok(mine === 0 || ready === 1, `a runner that ran PHP tasks bootstrapped iTop once (${mine} tasks, ${ready} bootstraps)`);
  }
  assert.equal(results.reduce((n, r) => n + r.stderr.split('\n').filter((l) => l.includes('"msg":"PHP task answered"')).length, 0), php.length, 'each recorded PHP run answered once');
  const perClass = await itop.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${itop.db.table('priv_backgroundtask')} GROUP BY class_name HAVING n > 1`);
  assert.deepEqual(perClass, [], 'one registry row per class');
});
