-- itop-cron's own run history (not an iTop table): one row per task run, written by itop-cron only and
-- created on demand (CREATE TABLE IF NOT EXISTS) the first time a run is recorded. iTop's own tables are
-- never altered. Dates are iTop-local 'Y-m-d H:i:s', as in priv_backgroundtask.
-- Kept out of sql/*.sql on purpose: those files are iTop's DDL, applied by `itop-cron init` and the tests.

CREATE TABLE IF NOT EXISTS `{prefix}itop_cron_run_history` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `class_name` varchar(255) NOT NULL,
  `planned` datetime DEFAULT NULL,
  `started` datetime NOT NULL,
  `ended` datetime NOT NULL,
  `duration` decimal(10,3) NOT NULL DEFAULT 0.000,
  `outcome` enum('success','failure','fatal','timeout') NOT NULL,
  `message` text DEFAULT NULL,
  `host` varchar(255) NOT NULL DEFAULT '',
  PRIMARY KEY (`id`),
  KEY `class_id` (`class_name`,`id`),
  KEY `started` (`started`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
