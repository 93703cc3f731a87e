/**
 * Finding config-itop.php without --itop_root, where cron.php users stand: the iTop root or its
 * webservices/ directory (the built CLI against a real MariaDB, the database named only in the iTop
 * configuration). When nothing is found, the error lists where itop-cron looked.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeItopRoot, runCli, writeParamFile } from './helpers/cli.js';
import { createAdminUser, createTestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const PWD = 'Disc0ver.Pa55';

async function setup(t: Parameters<typeof createTestDb>[0]): Promise<{ root: string; params: string }> {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  return { root: makeItopRoot(db), params: writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`) };
}

test('run from an iTop root or its webservices/ directory, the configuration is found without --itop_root', async (t) => {
  const { root, params } = await setup(t);
  mkdirSync(join(root, 'webservices'));
  for (const cwd of [root, join(root, 'webservices')]) {
    const r = await runCli([`--param_file=${params}`, '--status_only=1'], { cwd });
    assert.equal(r.code, 0, `${cwd}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^\| Task Class\s+\| Status/m, cwd);
    // `status` says "unhealthy" (exit 1) on a database where no task ever ran; it read that database.
    const s = await runCli(['status', `--param_file=${params}`], { cwd });
    assert.match(s.stdout, /^Cron: not running$/m, `${cwd}: ${s.stdout}${s.stderr}`);
  }
});

test('the discovered root is the iTop root: its maintenance flag stops the run as with --itop_root', async (t) => {
  const { root, params } = await setup(t);
  writeFileSync(join(root, 'data', '.maintenance'), '');
  const r = await runCli([`--param_file=${params}`], { cwd: root });
  assert.deepEqual([r.code, r.stdout], [0, 'This application is currently under maintenance.']);
});

test('--itop_root and ITOP_CONFIG still win over the working directory', async (t) => {
  const { root, params } = await setup(t);
  // The working directory is an iTop root whose database does not exist: taking it would fail.
  const decoy = tempDir('itop-decoy-');
  mkdirSync(join(decoy, 'conf', 'production'), { recursive: true });
  writeFileSync(join(decoy, 'conf', 'production', 'config-itop.php'), "<?php\n$MySettings = array('db_name' => 'no_such_db', 'db_host' => '127.0.0.1:1');\n");
  const byRoot = await runCli([`--param_file=${params}`, `--itop_root=${root}`, '--status_only=1'], { cwd: decoy });
  assert.equal(byRoot.code, 0, byRoot.stdout + byRoot.stderr);
  const byEnv = await runCli([`--param_file=${params}`, '--status_only=1'], {
    cwd: decoy,
    env: { ITOP_CONFIG: join(root, 'conf', 'production', 'config-itop.php') },
  });
  assert.equal(byEnv.code, 0, byEnv.stdout + byEnv.stderr);
});

test('nothing found: the error lists where itop-cron looked, exit 254', async () => {
  const parent = tempDir('itop-cron-nowhere-');
  const cwd = join(parent, 'webservices');
  mkdirSync(cwd);
  const params = writeParamFile(`auth_user=admin\nauth_pwd=${PWD}\n`);
  const r = await runCli([`--param_file=${params}`], { cwd });
  assert.equal(r.code, 254, r.stdout + r.stderr);
  const cfg = join('conf', 'production', 'config-itop.php');
  assert.equal(
    r.stdout,
    'Error: No iTop configuration found: set --config, ITOP_CONFIG or ITOP_ROOT (--itop_root), or give the database with ITOP_DB_NAME ' +
      `(and ITOP_DB_HOST, ITOP_DB_USER, ITOP_DB_PWD); looked for ${join(cwd, cfg)} and ${join(parent, cfg)}\n`,
  );
});
