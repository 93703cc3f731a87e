-- itop-cron's own small state (not an iTop table): one row per named value that must outlive a run, such
-- as the mail server outage (ExecAsyncTask's backoff). Written by itop-cron only, created on demand the
-- first time a value is stored. `value` is JSON; `updated` is iTop-local 'Y-m-d H:i:s'.

CREATE TABLE IF NOT EXISTS `{prefix}itop_cron_state` (
  `name` varchar(64) NOT NULL,
  `value` text NOT NULL,
  `updated` datetime NOT NULL,
  PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
