-- Draft inline images and attachments cleaned by InlineImageGC.
-- DDL of iTop 3.2 (MariaDB 10.11 SHOW CREATE TABLE, see shared reference/itop-3.2), verbatim apart from
-- IF NOT EXISTS, the {prefix} placeholder (iTop's db_subname) and the dropped AUTO_INCREMENT counters.

CREATE TABLE IF NOT EXISTS `{prefix}inline_image` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `expire` datetime DEFAULT NULL,
  `temp_id` varchar(255) DEFAULT '',
  `item_class` varchar(255) DEFAULT '',
  `item_id` int(11) DEFAULT 0,
  `item_org_id` int(11) DEFAULT 0,
  `contents_data` longblob DEFAULT NULL,
  `contents_mimetype` varchar(255) DEFAULT NULL,
  `contents_filename` varchar(255) DEFAULT NULL,
  `contents_downloads_count` int(11) unsigned DEFAULT NULL,
  `secret` varchar(255) DEFAULT '',
  PRIMARY KEY (`id`),
  KEY `temp_id` (`temp_id`(95)),
  KEY `item_class` (`item_class`(95)),
  KEY `item_class_item_id` (`item_class`(95),`item_id`),
  KEY `item_org_id` (`item_org_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}attachment` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `expire` datetime DEFAULT NULL,
  `temp_id` varchar(255) DEFAULT '',
  `item_class` varchar(255) DEFAULT '',
  `item_id` int(11) DEFAULT 0,
  `item_org_id` int(11) DEFAULT 0,
  `contents_data` longblob DEFAULT NULL,
  `contents_mimetype` varchar(255) DEFAULT NULL,
  `contents_filename` varchar(255) DEFAULT NULL,
  `contents_downloads_count` int(11) unsigned DEFAULT NULL,
  `creation_date` datetime DEFAULT NULL,
  `user_id` int(11) DEFAULT 0,
  `contact_id` int(11) DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `temp_id` (`temp_id`(95)),
  KEY `item_class` (`item_class`(95)),
  KEY `user_id` (`user_id`),
  KEY `contact_id` (`contact_id`),
  KEY `item_class_item_id` (`item_class`(95),`item_id`),
  KEY `item_org_id` (`item_org_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
