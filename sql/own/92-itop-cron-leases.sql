-- itop-cron's own leases for cluster mode (issue 15; not an iTop table): one row per named lease (a task
-- class, the registry resync), claimed and renewed by compare-and-set UPDATEs on the database's clock
-- (src/cluster/leases.ts), never with GET_LOCK, which is node-local on Galera. `epoch` grows by one at every
-- claim: it is the fencing token a holder's writes are checked against. Times are the server's NOW(3).
-- Created on demand the first time a lease is claimed. The primary key is required by Galera.

CREATE TABLE IF NOT EXISTS `{prefix}itop_cron_lease` (
  `name` varchar(191) NOT NULL,
  `owner` varchar(255) NOT NULL DEFAULT '',
  `epoch` bigint(20) unsigned NOT NULL DEFAULT 0,
  `expires` datetime(3) NOT NULL,
  `claimed` datetime(3) NOT NULL,
  -- The owner before the last claim: who a taken-over task's unfinished run belonged to.
  `previous` varchar(255) NOT NULL DEFAULT '',
  -- Counts the holder's fenced writes; bumping it makes each one a real change of this row, which Galera
  -- certifies against a concurrent claim (an unchanged row is not in the write set).
  `writes` bigint(20) unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
