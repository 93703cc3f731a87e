/**
 * The web console in a real browser: Debian's chromium driven by playwright-core against the built CLI's
 * `itop-cron serve` on a real MariaDB. Logs in with HTTP Basic, reads the tasks, clicks Pause, Run now and
 * Retry (accepting the page's confirmations) and checks the rows in the database, and checks that a class
 * named `<script>` is shown as text and runs nothing. Screenshots of the main page and a task's page are
 * written under the test's temporary directory (and copied to ITOP_CRON_SCREENSHOT_DIR when set).
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type Dialog, type Page } from 'playwright-core';
import { addRuns, addTask, startServe } from './helpers/consoleServe.js';
import { createAdminUser, createTestDb, type TestDb } from './helpers/testDb.js';
import { tempDir } from './helpers/tempDir.js';

const CHROMIUM = '/usr/bin/chromium';
const PWD = 'Br0wser.Console-pw';
const EVIL = '<script>alert(1)</script>';

async function statusOf(db: TestDb, cls: string): Promise<string | undefined> {
  const rows = await db.query<{ status: string }>(`SELECT status FROM ${db.table('priv_backgroundtask')} WHERE class_name = ?`, [cls]);
  return rows[0]?.status;
}

/** Waits until the text of `selector` matches `pattern` (polled from here: no script evaluated in the page). */
async function waitForText(page: Page, selector: string, pattern: RegExp, ms: number): Promise<void> {
  const limit = Date.now() + ms;
  for (;;) {
    const text = (await page.locator(selector).first().textContent()) ?? '';
    if (pattern.test(text)) return;
    if (Date.now() > limit) throw new Error(`${selector} never matched ${pattern}: ${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// .ci/run installs chromium; elsewhere the test says why it does not run instead of failing.
const missing = existsSync(CHROMIUM) || process.env['CI'] === 'true' ? false : `${CHROMIUM} is missing (apt-get install chromium)`;

test('in chromium: log in, see the tasks, Pause, Run now and Retry change the rows; <script> is text', { skip: missing }, async (t) => {
  const db = await createTestDb(t);
  await createAdminUser(db, { login: 'admin', password: PWD, admin: true });
  await addTask(db, 'InlineImageGC', '2099-01-01 00:00:00', { runs: 30, avg: 0.5, latest: 9 });
  await addTask(db, 'BulkExportResultGC', '2099-01-01 00:00:00', { runs: 30, avg: 0.2, latest: 0.3 });
  await addTask(db, EVIL, '2099-01-01 00:00:00');
  await addRuns(db, 'InlineImageGC', 60, (i) => (i % 7 === 3 ? `cleanup failed <b>${i}</b>` : `Cleaned ${i} expired images`), (i) => (i === 59 ? 9 : 0.3 + (i % 5) / 10));
  await addRuns(db, 'BulkExportResultGC', 40, () => 'Cleaned 0 files', (i) => 0.1 + (i % 3) / 10);
  await db.execute(
    `INSERT INTO ${db.table('priv_async_task')} (status, created, remaining_retries, last_error, last_attempt, realclass) ` +
      "VALUES ('error', '2026-01-01 00:00:00', 0, 'Connection refused by smtp.example.com', '2026-01-01 00:01:00', 'AsyncSendEmail')",
  );
  const serve = await startServe(t, db);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const context = await browser.newContext({ httpCredentials: { username: 'admin', password: PWD }, viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const alerts: string[] = [];
  const confirms: string[] = [];
  const answer = (d: Dialog): void => {
    if (d.type() === 'confirm') {
      confirms.push(d.message());
      void d.accept();
    } else {
      alerts.push(d.message());
      void d.dismiss();
    }
  };
  page.on('dialog', answer);
  const cspErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') cspErrors.push(m.text());
  });

  const main = await page.goto(`${serve.url}/`);
  assert.equal(main?.status(), 200);
  assert.equal(await page.locator('#tasks tbody tr').count(), 3);
  const names = await page.locator('#tasks td.name').allTextContents();
  assert.ok(names.includes(EVIL), `the class name is shown as text: ${JSON.stringify(names)}`);
  assert.equal(await page.locator('#tasks script').count(), 0);
  const row = page.locator('tr[data-class="InlineImageGC"]');
  assert.equal(await row.locator('td.status').textContent(), 'active');
  assert.equal(await row.locator('.slow').count(), 1);
  const bars = await row.locator('svg.chart path').evaluateAll((ps) => ps.map((p) => p.getAttribute('d') ?? '').join('').split('M').length - 1);
  assert.equal(bars, 20);
  const shots = tempDir('itop-cron-console-shots-');
  const mainShot = join(shots, 'console-main.png');
  await page.screenshot({ path: mainShot, fullPage: true });

  await row.getByRole('button', { name: 'Pause' }).click();
  await page.waitForSelector('#result');
  assert.match((await page.locator('#result').textContent()) ?? '', /^Paused InlineImageGC/);
  assert.equal(await statusOf(db, 'InlineImageGC'), 'paused');
  assert.deepEqual(confirms, ["Pause InlineImageGC? Neither itop-cron nor cron.php will run it."]);

  await page.goto(`${serve.url}/`);
  assert.equal(await page.locator('tr[data-class="InlineImageGC"] td.status').textContent(), 'paused');
  // Run now from a second tab: the first one, left open, shows the run's text as it happens.
  const other = await context.newPage();
  other.on('dialog', answer);
  await other.goto(`${serve.url}/`);
  await other.locator('tr[data-class="BulkExportResultGC"]').getByRole('button', { name: 'Run now' }).click();
  await other.waitForSelector('#result');
  assert.match((await other.locator('#result').textContent()) ?? '', /^BulkExportResultGC: success in/);
  assert.match((await other.locator('pre.output').textContent()) ?? '', /Starting: BulkExportResultGC/);
  await waitForText(page, '#live', /End of: +BulkExportResultGC/, 20_000);
  assert.match((await page.locator('#live').textContent()) ?? '', /Starting: BulkExportResultGC[\s\S]*End of: +BulkExportResultGC/);
  await page.screenshot({ path: mainShot, fullPage: true });
  await other.close();

  await page.goto(`${serve.url}/`);
  await page.getByRole('button', { name: 'Retry' }).click();
  await page.waitForSelector('#result');
  const async = await db.query<{ status: string }>(`SELECT status FROM ${db.table('priv_async_task')} WHERE id = 1`);
  assert.equal(async[0]?.status, 'planned');

  await page.goto(`${serve.url}/`);
  await page.locator('tr[data-class="InlineImageGC"] td.name a').click();
  await page.waitForSelector('#history');
  assert.equal(await page.locator('h1').textContent(), 'InlineImageGC');
  assert.equal(await page.locator('#history tbody tr').count(), 50);
  const taskShot = join(shots, 'console-task.png');
  await page.screenshot({ path: taskShot, fullPage: true });
  await page.goto(`${serve.url}/task/${encodeURIComponent(EVIL)}`);
  assert.equal(await page.locator('h1').textContent(), EVIL);

  assert.deepEqual(alerts, [], 'no injected script ran');
  assert.deepEqual(cspErrors.filter((e) => /Content Security Policy/i.test(e)), [], 'the page needs nothing its policy forbids');
  for (const shot of [mainShot, taskShot]) {
    assert.ok(existsSync(shot));
    t.diagnostic(`screenshot: ${shot}`);
    const keep = process.env['ITOP_CRON_SCREENSHOT_DIR'];
    if (keep !== undefined && keep !== '') {
      mkdirSync(keep, { recursive: true });
      copyFileSync(shot, join(keep, shot.slice(shots.length + 1)));
    }
  }
});

test('in chromium, the reference iTop 3.2 database (sla-scenario): every registry row, Run now, screenshots', { skip: missing }, async (t) => {
  const db = await createTestDb(t, { reference: 'sla-scenario' });
  // The dump has its own 'admin' (whose password the test does not know): a second administrator.
  await createAdminUser(db, { login: 'console-admin', password: PWD, admin: true });
  const registry = await db.query<{ class_name: string }>(`SELECT class_name FROM ${db.table('priv_backgroundtask')} ORDER BY class_name`);
  const serve = await startServe(t, db);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const context = await browser.newContext({ httpCredentials: { username: 'console-admin', password: PWD }, viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  assert.equal((await page.goto(`${serve.url}/`))?.status(), 200);
  const names = (await page.locator('#tasks td.name').allTextContents()).sort();
  assert.deepEqual(names, registry.map((r) => r.class_name).sort());
  // No PHP bridge here (no iTop root): iTop's own PHP tasks have no runner, and the verdict says so.
  assert.equal(await page.locator('tr[data-class="ObsolescenceDateUpdater"] td:nth-child(3)').textContent(), 'none');
  assert.equal(await page.locator('#verdict').textContent(), 'Unhealthy');
  assert.match((await page.locator('ul.problems').textContent()) ?? '', /ObsolescenceDateUpdater has no runner/);
  await page.locator('tr[data-class="InlineImageGC"]').getByRole('button', { name: 'Run now' }).click();
  await page.waitForSelector('#result');
  assert.match((await page.locator('#result').textContent()) ?? '', /^InlineImageGC: success in/);
  await page.goto(`${serve.url}/`);
  assert.equal(await page.locator('tr[data-class="InlineImageGC"] td.outcome').textContent(), 'success');
  // The page refreshes itself (every 15 s) without a reload: a change made elsewhere shows up, the page's
  // own state (here a marker, in use the live output) stays.
  await page.evaluate('window.notReloaded = true');
  await db.execute(`UPDATE ${db.table('priv_backgroundtask')} SET status = 'paused' WHERE class_name = 'BackupExec'`);
  await waitForText(page, 'tr[data-class="BackupExec"] td.status', /^paused$/, 30_000);
  assert.equal(await page.evaluate('window.notReloaded'), true);
  assert.match((await page.locator('#live').textContent()) ?? '', /Starting: InlineImageGC/);
  const shots = tempDir('itop-cron-console-shots-');
  const mainShot = join(shots, 'console-reference-main.png');
  await page.screenshot({ path: mainShot, fullPage: true });
  await page.locator('tr[data-class="InlineImageGC"] td.name a').click();
  await page.waitForSelector('#history');
  assert.equal(await page.locator('#history tbody tr').count(), 1);
  const taskShot = join(shots, 'console-reference-task.png');
  await page.screenshot({ path: taskShot, fullPage: true });
  // On a phone: the page does not scroll sideways (the task table scrolls inside its box).
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${serve.url}/`);
  assert.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true);
  const phoneShot = join(shots, 'console-reference-phone.png');
  await page.screenshot({ path: phoneShot, fullPage: true });
  for (const shot of [mainShot, taskShot, phoneShot]) {
    t.diagnostic(`screenshot: ${shot}`);
    const keep = process.env['ITOP_CRON_SCREENSHOT_DIR'];
    if (keep !== undefined && keep !== '') {
      mkdirSync(keep, { recursive: true });
      copyFileSync(shot, join(keep, shot.slice(shots.length + 1)));
    }
  }
});
