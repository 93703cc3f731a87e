-- The asynchronous task queue run by ExecAsyncTask: a row in priv_async_task plus one in its
-- subclass table, with the same id.
-- DDL of iTop 3.2 (MariaDB 10.11 SHOW CREATE TABLE, see shared reference/itop-3.2), verbatim apart from
-- IF NOT EXISTS, the {prefix} placeholder (iTop's db_subname) and the dropped AUTO_INCREMENT counters.

CREATE TABLE IF NOT EXISTS `{prefix}priv_async_task` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `status` enum('planned','running','idle','error') DEFAULT 'planned',
  `created` datetime DEFAULT NULL,
  `started` datetime DEFAULT NULL,
  `planned` datetime DEFAULT NULL,
  `event_id` int(11) DEFAULT 0,
  `remaining_retries` int(11) DEFAULT 0,
  `last_error_code` int(11) DEFAULT 0,
  `last_error` varchar(255) DEFAULT '',
  `last_attempt` datetime DEFAULT NULL,
  `realclass` varchar(255) DEFAULT 'AsyncTask',
  PRIMARY KEY (`id`),
  KEY `created` (`created`),
  KEY `event_id` (`event_id`),
  KEY `realclass` (`realclass`(95))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_async_send_email` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `version` int(11) DEFAULT 1,
  `to` text DEFAULT NULL,
  `subject` text DEFAULT NULL,
  `message` longtext DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_async_send_newsroom` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `recipients` text DEFAULT NULL,
  `action_id` int(11) DEFAULT 0,
  `trigger_id` int(11) DEFAULT 0,
  `title` text DEFAULT NULL,
  `message` text DEFAULT NULL,
  `object_id` int(11) DEFAULT NULL,
  `object_class` varchar(255) DEFAULT '',
  `url` text DEFAULT NULL,
  `date` datetime DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `action_id` (`action_id`),
  KEY `trigger_id` (`trigger_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
