/**
 * The error kinds the runner tells apart are recognised across copies of the code: the CLI runs from its
 * bundle while extensions import the classes from dist/ (here: src/ and dist/, two module instances).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as src from '../src/errors.js';
import { ConfigError as SrcConfigError } from '../src/errors.js';

test('instanceof goes by the class brand, across copies, and never confuses two kinds', async () => {
  const dist = (await import('../dist/errors.js')) as typeof src;
  assert.notEqual(dist.CronError, src.CronError, 'two copies of the module');
  const fromDist = new dist.ProcessInvalidConfigError("wrong format for setting 'week_days'");
  assert.ok(fromDist instanceof src.ProcessInvalidConfigError);
  assert.ok(fromDist instanceof Error);
  assert.ok(!(fromDist instanceof src.ProcessFatalError));
  assert.ok(!(fromDist instanceof src.CronError));
  const gone = new src.DbGoneAwayError('gone', 2006);
  assert.ok(gone instanceof dist.DbGoneAwayError);
  assert.equal(gone.errno, 2006);
  // A subclass is an instance of its parents, not the other way round.
  const config = new dist.ConfigError('bad value');
  assert.ok(config instanceof src.CronError);
  assert.ok(config instanceof SrcConfigError);
  assert.ok(!(new src.CronError('E', 'm', 255) instanceof dist.ConfigError));
  assert.ok(!({ message: 'plain object' } instanceof src.CronError));
  assert.ok(!(null as unknown instanceof src.CronError));
  // The brand stays out of what is logged or serialised.
  assert.deepEqual(Object.keys(config).sort(), ['code', 'exitCode', 'name']);
  assert.equal(JSON.stringify(new src.ProcessFatalError('x')), '{"name":"ProcessFatalError"}');
});
