-- The background task registry that cron.php reads and writes.
-- DDL of iTop 3.2 (MariaDB 10.11 SHOW CREATE TABLE, see shared reference/itop-3.2), verbatim apart from
-- IF NOT EXISTS, the {prefix} placeholder (iTop's db_subname) and the dropped AUTO_INCREMENT counters.

CREATE TABLE IF NOT EXISTS `{prefix}priv_backgroundtask` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `class_name` varchar(255) DEFAULT '',
  `first_run_date` datetime DEFAULT NULL,
  `latest_run_date` datetime DEFAULT NULL,
  `next_run_date` datetime DEFAULT NULL,
  `total_exec_count` int(11) DEFAULT 0,
  `latest_run_duration` decimal(8,3) DEFAULT 0.000,
  `min_run_duration` decimal(8,3) DEFAULT 0.000,
  `max_run_duration` decimal(8,3) DEFAULT 0.000,
  `average_run_duration` decimal(8,3) DEFAULT 0.000,
  `running` tinyint(1) DEFAULT 0,
  `status` enum('active','paused','removed') DEFAULT 'active',
  `system_user` varchar(255) DEFAULT '',
  PRIMARY KEY (`id`),
  KEY `class_name` (`class_name`(95))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
