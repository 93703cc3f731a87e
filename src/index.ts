/** The library behind the itop-cron command. */
export { main, runCli, addSubcommand } from './cli/main.js';
export { runCron, printStatus } from './cli/runCron.js';
export type { BackgroundTask, TaskContext, ExtensionExport } from './tasks/types.js';
export type { Config, RunOptions } from './config/types.js';
export { lockName, NamedLock } from './db/lock.js';
