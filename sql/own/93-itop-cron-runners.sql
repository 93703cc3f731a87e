-- itop-cron's runners in cluster mode (issue 15; not an iTop table): one row per running itop-cron, written
-- by that runner only. `heartbeat` is renewed on the database's clock (NOW(3)) every renewal period; a
-- runner is alive while its heartbeat is younger than the lease TTL. `lock_key` names the connection that
-- holds the classic cron lock (GET_LOCK, node-local on Galera) on one database node, as
-- '<server host>:<port>#<connection id>', or '' when this runner does not hold it: another runner that
-- finds the lock taken tells a peer (go on) from PHP's cron.php (stop) by it. Created on demand.

CREATE TABLE IF NOT EXISTS `{prefix}itop_cron_runner` (
  `id` varchar(191) NOT NULL,
  `host` varchar(255) NOT NULL DEFAULT '',
  `pid` int(10) unsigned NOT NULL DEFAULT 0,
  `version` varchar(64) NOT NULL DEFAULT '',
  `started` datetime(3) NOT NULL,
  `heartbeat` datetime(3) NOT NULL,
  `lock_key` varchar(255) NOT NULL DEFAULT '',
  `stopped` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
