-- Triggers, actions and subscriptions: what a threshold trigger runs to queue notifications.
-- DDL of iTop 3.2 (MariaDB 10.11 SHOW CREATE TABLE, see shared reference/itop-3.2), verbatim apart from
-- IF NOT EXISTS, the {prefix} placeholder (iTop's db_subname) and the dropped AUTO_INCREMENT counters.

CREATE TABLE IF NOT EXISTS `{prefix}priv_trigger` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `description` varchar(255) DEFAULT '',
  `context` varchar(255) DEFAULT '',
  `complement` varchar(255) DEFAULT '',
  `subscription_policy` enum('allow_no_channel','force_at_least_one_channel','force_all_channels') DEFAULT 'allow_no_channel',
  `realclass` varchar(255) DEFAULT 'Trigger',
  PRIMARY KEY (`id`),
  KEY `description` (`description`(95)),
  KEY `realclass` (`realclass`(95)),
  FULLTEXT KEY `context` (`context`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_trigger_onobject` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `target_class` varchar(255) DEFAULT 'ApplicationSolution',
  `filter` text DEFAULT NULL,
  `realclass` varchar(255) DEFAULT 'TriggerOnObject',
  PRIMARY KEY (`id`),
  KEY `target_class` (`target_class`(95)),
  KEY `realclass` (`realclass`(95))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_trigger_threshold` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `stop_watch_code` varchar(255) DEFAULT '',
  `threshold_index` varchar(255) DEFAULT '',
  PRIMARY KEY (`id`),
  FULLTEXT KEY `stop_watch_code` (`stop_watch_code`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_link_action_trigger` (
  `link_id` int(11) NOT NULL AUTO_INCREMENT,
  `action_id` int(11) DEFAULT 0,
  `trigger_id` int(11) DEFAULT 0,
  `order` int(11) DEFAULT 0,
  PRIMARY KEY (`link_id`),
  KEY `action_id` (`action_id`),
  KEY `trigger_id` (`trigger_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_action` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) DEFAULT '',
  `description` varchar(255) DEFAULT '',
  `status` enum('test','enabled','disabled') DEFAULT 'test',
  `asynchronous` enum('use_global_setting','yes','no') DEFAULT 'use_global_setting',
  `realclass` varchar(255) DEFAULT 'Action',
  PRIMARY KEY (`id`),
  KEY `name` (`name`(95)),
  KEY `realclass` (`realclass`(95))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_action_notification` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `language` varchar(255) DEFAULT '',
  `realclass` varchar(255) DEFAULT 'ActionNotification',
  PRIMARY KEY (`id`),
  KEY `language` (`language`(95)),
  KEY `realclass` (`realclass`(95))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_action_email` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `test_recipient` varchar(255) DEFAULT '',
  `from` varchar(255) DEFAULT '',
  `from_label` varchar(255) DEFAULT '',
  `reply_to` varchar(255) DEFAULT '',
  `reply_to_label` varchar(255) DEFAULT '',
  `to` text DEFAULT NULL,
  `cc` text DEFAULT NULL,
  `bcc` text DEFAULT NULL,
  `subject` varchar(255) DEFAULT '',
  `body` text DEFAULT NULL,
  `importance` enum('low','normal','high') DEFAULT 'normal',
  `html_template_data` longblob DEFAULT NULL,
  `html_template_mimetype` varchar(255) DEFAULT NULL,
  `html_template_filename` varchar(255) DEFAULT NULL,
  `html_template_downloads_count` int(11) unsigned DEFAULT NULL,
  `ignore_notify` enum('yes','no') DEFAULT 'yes',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_action_newsroom` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `title` varchar(255) DEFAULT '',
  `message` text DEFAULT NULL,
  `icon_data` longblob DEFAULT NULL,
  `icon_mimetype` varchar(255) DEFAULT NULL,
  `icon_filename` varchar(255) DEFAULT NULL,
  `icon_downloads_count` int(11) unsigned DEFAULT NULL,
  `priority` enum('1','2','3','4') DEFAULT '4',
  `test_recipient_id` int(11) DEFAULT 0,
  `recipients` text DEFAULT NULL,
  `url` varchar(255) DEFAULT '$this->url()$',
  PRIMARY KEY (`id`),
  KEY `test_recipient_id` (`test_recipient_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_lnk_action_notif_to_contact` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `action_id` int(11) DEFAULT 0,
  `contact_id` int(11) DEFAULT 0,
  `trigger_id` int(11) DEFAULT 0,
  `subscribed` tinyint(1) DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `action_id` (`action_id`),
  KEY `contact_id` (`contact_id`),
  KEY `trigger_id` (`trigger_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
