-- Users, their passwords and profiles: what the cron login and the Administrator check read.
-- A user spans priv_user + priv_internaluser + priv_user_local (or priv_user_ldap), all with the same id.
-- DDL of iTop 3.2 (MariaDB 10.11 SHOW CREATE TABLE, see shared reference/itop-3.2), verbatim apart from
-- IF NOT EXISTS, the {prefix} placeholder (iTop's db_subname) and the dropped AUTO_INCREMENT counters.

CREATE TABLE IF NOT EXISTS `{prefix}priv_user` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `contactid` int(11) DEFAULT 0,
  `login` varchar(255) DEFAULT '',
  `language` varchar(255) DEFAULT 'EN US',
  `status` enum('enabled','disabled') DEFAULT 'enabled',
  `log` longtext DEFAULT NULL,
  `log_index` blob DEFAULT NULL,
  `finalclass` varchar(255) DEFAULT 'User',
  PRIMARY KEY (`id`),
  KEY `contactid` (`contactid`),
  KEY `login` (`login`(95)),
  KEY `language` (`language`(95)),
  KEY `finalclass` (`finalclass`(95))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_internaluser` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `reset_pwd_token_hash` tinyblob DEFAULT NULL,
  `reset_pwd_token_salt` tinyblob DEFAULT NULL,
  `finalclass` varchar(255) DEFAULT 'UserInternal',
  PRIMARY KEY (`id`),
  KEY `finalclass` (`finalclass`(95))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_user_local` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `password_hash` tinyblob DEFAULT NULL,
  `password_salt` tinyblob DEFAULT NULL,
  `expiration` enum('can_expire','never_expire','force_expire','otp_expire') DEFAULT 'never_expire',
  `password_renewed_date` date DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_user_ldap` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `ldap_server` varchar(255) DEFAULT '',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_urp_profiles` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) DEFAULT '',
  `description` varchar(255) DEFAULT '',
  PRIMARY KEY (`id`),
  KEY `name` (`name`(95))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_urp_userprofile` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `userid` int(11) DEFAULT 0,
  `profileid` int(11) DEFAULT 0,
  `description` varchar(255) DEFAULT '',
  PRIMARY KEY (`id`),
  KEY `userid` (`userid`),
  KEY `profileid` (`profileid`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}priv_urp_userorg` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `userid` int(11) DEFAULT 0,
  `allowed_org_id` int(11) DEFAULT 0,
  `reason` varchar(255) DEFAULT '',
  PRIMARY KEY (`id`),
  KEY `userid` (`userid`),
  KEY `allowed_org_id` (`allowed_org_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;


-- The standard profiles as the setup creates them (ids and names from fresh-install.sql): the Administrator
-- check is by name.
INSERT IGNORE INTO `{prefix}priv_urp_profiles` (`id`, `name`, `description`) VALUES
(1,'Administrator','Has the rights on everything (bypassing any control)'),
(2,'Portal user','Has the rights to access to the user portal. People having this profile will not be allowed to access the standard application, they will be automatically redirected to the user portal.'),
(3,'Configuration Manager','Person in charge of the documentation of the managed CIs'),
(4,'Service Desk Agent','Person in charge of creating incident reports'),
(5,'Support Agent','Person analyzing and solving the current incidents'),
(6,'Problem Manager','Person analyzing and solving the current problems'),
(7,'Change Implementor','Person executing the changes'),
(8,'Change Supervisor','Person responsible for the overall change execution'),
(9,'Change Approver','Person who could be impacted by some changes'),
(10,'Service Manager','Person responsible for the service delivered to the [internal] customer'),
(11,'Document author','Any person who could contribute to documentation'),
(12,'Portal power user','Users having this profile will have the rights to see all the tickets for a customer in the portal. Must be used in conjunction with other profiles (e.g. Portal User).'),
(1024,'REST Services User','Only users having this profile are allowed to use the REST Web Services (unless \'secure_rest_services\' is set to false\n          in the configuration file).\n        ');
