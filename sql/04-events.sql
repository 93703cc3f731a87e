-- The event log written by notifications (priv_event + subclass tables, same id).
-- DDL of iTop 3.2 (MariaDB 10.11 SHOW CREATE TABLE, see shared reference/itop-3.2), verbatim apart from
-- IF NOT EXISTS, the {prefix} placeholder (iTop's db_subname) and the dropped AUTO_INCREMENT counters.

CREATE TABLE IF NOT EXISTS `{prefix}priv_event` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `message` text DEFAULT NULL,
  `date` datetime DEFAULT NULL,
  `userinfo` varchar(255) DEFAULT '',
  `realclass` varchar(255) DEFAULT 'Event',
  PRIMARY KEY (`id`),
  KEY `realclass` (`realclass`(95))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_event_notification` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `trigger_id` int(11) DEFAULT 0,
  `action_id` int(11) DEFAULT 0,
  `object_id` int(11) DEFAULT 0,
  `object_class` varchar(255) DEFAULT '',
  `realclass` varchar(255) DEFAULT 'EventNotification',
  PRIMARY KEY (`id`),
  KEY `trigger_id` (`trigger_id`),
  KEY `action_id` (`action_id`),
  KEY `object_class` (`object_class`(95)),
  KEY `realclass` (`realclass`(95)),
  KEY `object_class_object_id` (`object_class`(95),`object_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_event_email` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `to` text DEFAULT NULL,
  `cc` text DEFAULT NULL,
  `bcc` text DEFAULT NULL,
  `from` text DEFAULT NULL,
  `subject` text DEFAULT NULL,
  `body` longtext DEFAULT NULL,
  `attachments` longtext DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_event_newsroom` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `title` varchar(255) DEFAULT '',
  `icon_data` longblob DEFAULT NULL,
  `icon_mimetype` varchar(255) DEFAULT NULL,
  `icon_filename` varchar(255) DEFAULT NULL,
  `icon_downloads_count` int(11) unsigned DEFAULT NULL,
  `priority` enum('1','2','3','4') DEFAULT '4',
  `url` varchar(2048) DEFAULT '',
  `read` enum('no','yes') DEFAULT 'no',
  `read_date` datetime DEFAULT NULL,
  `contact_id` int(11) DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `title` (`title`(95)),
  KEY `contact_id` (`contact_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
