// An example extension task for itop-cron: every 5 seconds it counts its runs in iTop's
// key_value_store table and returns a message, which `itop-cron --verbose=1` prints as
// `Acme\HelloTask: Hello from Acme (run N)`.
//
// Load it by naming this file in the configuration:
//   config-itop.php:  'itop_cron.extensions' => array('/opt/acme/hello-task.mjs'),
//   or environment:   ITOP_CRON_EXTENSIONS=/opt/acme/hello-task.mjs
// See README.md next to this file.

const NAMESPACE = 'acme-hello';
const KEY = 'runs';

/**
 * The task. `className` is the name of its row in priv_backgroundtask (an iTop class name, no leading
 * backslash); `periodicity` makes it periodic (seconds); `process(ctx)` does the work and returns the message.
 */
const helloTask = {
  className: 'Acme\\HelloTask',

  // Periodic: run every 5 seconds. A scheduled task would give nextOccurrence(config, nowMs) instead.
  periodicity: () => 5,

  /** @param {import('itop-cron').TaskContext} ctx */
  async process(ctx) {
    const { db } = ctx;
    // db.table() adds iTop's table prefix (db_subname) and quotes the name.
    const table = db.table('key_value_store');
    const rows = await db.query(`SELECT id, value FROM ${table} WHERE namespace = ? AND key_name = ?`, [NAMESPACE, KEY]);
    const runs = rows.length === 0 ? 1 : Number(rows[0].value) + 1;
    if (rows.length === 0) {
      await db.execute(`INSERT INTO ${table} (namespace, key_name, value) VALUES (?, ?, ?)`, [NAMESPACE, KEY, String(runs)]);
    } else {
      await db.execute(`UPDATE ${table} SET value = ? WHERE id = ?`, [String(runs), rows[0].id]);
    }
    // Diagnostics go to the structured log, never to stdout.
    ctx.log.info({ runs }, 'hello task ran');
    return `Hello from Acme (run ${runs})`;
  },
};

// The default export may be one task, an array of tasks, or a (possibly async) function of the
// configuration returning them.
export default helloTask;
