-- The object history (CMDBChange) written when a threshold changes a ticket's status.
-- DDL of iTop 3.2 (MariaDB 10.11 SHOW CREATE TABLE, see shared reference/itop-3.2), verbatim apart from
-- IF NOT EXISTS, the {prefix} placeholder (iTop's db_subname) and the dropped AUTO_INCREMENT counters.

CREATE TABLE IF NOT EXISTS `{prefix}priv_change` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `date` datetime DEFAULT NULL,
  `userinfo` varchar(255) DEFAULT '',
  `user_id` int(11) DEFAULT 0,
  `origin` enum('interactive','csv-interactive','csv-import.php','webservice-soap','webservice-rest','synchro-data-source','email-processing','custom-extension') DEFAULT 'interactive',
  PRIMARY KEY (`id`),
  KEY `date` (`date`),
  KEY `user_id` (`user_id`),
  KEY `origin` (`origin`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_changeop` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `changeid` int(11) DEFAULT 0,
  `objclass` varchar(255) DEFAULT '',
  `objkey` int(11) DEFAULT 0,
  `optype` varchar(255) DEFAULT 'CMDBChangeOp',
  PRIMARY KEY (`id`),
  KEY `changeid` (`changeid`),
  KEY `optype` (`optype`(95)),
  KEY `objclass_objkey` (`objclass`(95),`objkey`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_changeop_setatt` (
  `id` int(11) NOT NULL,
  `attcode` varchar(255) DEFAULT '',
  `optype` varchar(255) DEFAULT 'CMDBChangeOpSetAttribute',
  PRIMARY KEY (`id`),
  KEY `optype` (`optype`(95))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_changeop_setatt_scalar` (
  `id` int(11) NOT NULL,
  `oldvalue` varchar(255) DEFAULT '',
  `newvalue` varchar(255) DEFAULT '',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The creation record of an object, written with the subscription link a threshold notification creates.
CREATE TABLE IF NOT EXISTS `{prefix}priv_changeop_create` (
  `id` int(11) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
