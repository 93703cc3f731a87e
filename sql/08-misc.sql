-- Tables of the smaller garbage collectors and iTop's bookkeeping tables.
-- DDL of iTop 3.2 (MariaDB 10.11 SHOW CREATE TABLE, see shared reference/itop-3.2), verbatim apart from
-- IF NOT EXISTS, the {prefix} placeholder (iTop's db_subname) and the dropped AUTO_INCREMENT counters.

CREATE TABLE IF NOT EXISTS `{prefix}priv_bulk_export_result` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `created` datetime DEFAULT NULL,
  `user_id` int(11) DEFAULT 0,
  `chunk_size` int(11) DEFAULT 0,
  `format` varchar(255) DEFAULT '',
  `temp_file_path` varchar(255) DEFAULT '',
  `search` longtext DEFAULT NULL,
  `status_info` longtext DEFAULT NULL,
  `localize_output` tinyint(1) DEFAULT 1,
  PRIMARY KEY (`id`),
  KEY `created` (`created`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_temporary_object_descriptor` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `expiration_date` datetime DEFAULT NULL,
  `temp_id` varchar(255) DEFAULT '',
  `item_class` varchar(255) DEFAULT '',
  `item_id` int(11) DEFAULT 0,
  `creation_date` datetime DEFAULT NULL,
  `host_class` varchar(255) DEFAULT '',
  `host_id` int(11) DEFAULT 0,
  `host_att_code` varchar(255) DEFAULT '',
  `operation` enum('create','delete') DEFAULT 'create',
  PRIMARY KEY (`id`),
  KEY `temp_id` (`temp_id`(95)),
  KEY `item_class` (`item_class`(95)),
  KEY `item_class_item_id` (`item_class`(95),`item_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}key_value_store` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `namespace` varchar(255) DEFAULT '',
  `key_name` varchar(255) DEFAULT '',
  `value` varchar(255) DEFAULT '0',
  PRIMARY KEY (`id`),
  KEY `key_name` (`key_name`(95)),
  KEY `key_name_namespace` (`key_name`(95),`namespace`(95))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_module_install` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) DEFAULT '',
  `version` varchar(255) DEFAULT '',
  `installed` datetime DEFAULT NULL,
  `comment` text DEFAULT NULL,
  `parent_id` int(11) DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `name` (`name`(95)),
  KEY `version` (`version`(95)),
  KEY `parent_id` (`parent_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_db_properties` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) DEFAULT '',
  `description` varchar(255) DEFAULT '',
  `value` varchar(255) DEFAULT '',
  `change_date` datetime DEFAULT NULL,
  `change_comment` varchar(255) DEFAULT '',
  PRIMARY KEY (`id`),
  KEY `name` (`name`(95))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
