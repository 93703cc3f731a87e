/**
 * The names of the default command's options, in a module of their own: main.ts needs them for its
 * did-you-mean without loading the cron command (and the database driver) for `--version` or `--help`.
 */

/** The options of ours that a cron.php line may carry besides cron.php's own (none collides with them). */
export const CRON_PARAMS = ['auth_user', 'auth_pwd', 'param_file', 'verbose', 'debug', 'status_only'] as const;
export const OWN_PARAMS = ['config', 'itop_root', 'log_file', 'log_level', 'mysql_bindir', 'php_bin', 'task_grace_seconds', 'metrics_port', 'metrics_host', 'ping_url'] as const;
