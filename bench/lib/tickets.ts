/** UserRequest tickets as a live iTop holds them, for the stopwatch figures and the long run. */
import type { BenchDb } from './server.js';

/** The recommended index (docs/tasks.md, "CheckStopWatchThresholds"), for ticket_request and ticket_incident. */
export const INDEXES =
  'ADD INDEX tto_75_due (tto_75_triggered, tto_75_deadline), ADD INDEX tto_100_due (tto_100_triggered, tto_100_deadline), ' +
  'ADD INDEX ttr_75_due (ttr_75_triggered, ttr_75_deadline), ADD INDEX ttr_100_due (ttr_100_triggered, ttr_100_deadline)';

/**
 * Tickets as a live iTop holds them: 70 % closed in time (stopwatches stopped, no deadline), 20 % closed
 * after an escalation (thresholds triggered), 10 % open with running stopwatches due in 1 to 5 days.
 */
export async function buildTickets(db: BenchDb, n: number): Promise<void> {
  await db.execute(
    "INSERT INTO ticket (id, operational_status, ref, title, start_date, last_update, finalclass) SELECT seq, " +
      "IF(seq % 10 = 9, 'ongoing', 'closed'), CONCAT('R-', LPAD(seq, 7, '0')), CONCAT('Ticket ', seq), " +
      `UTC_TIMESTAMP() - INTERVAL 30 DAY, UTC_TIMESTAMP() - INTERVAL 1 DAY, 'UserRequest' FROM seq_1_to_${n}`,
  );
  const sw = (): string => {
    const running = `IF(seq % 10 = 9, UTC_TIMESTAMP() - INTERVAL 1 HOUR, NULL)`;
    const deadline = `CASE WHEN seq % 10 = 9 THEN UTC_TIMESTAMP() + INTERVAL (1 + seq % 5) DAY WHEN seq % 10 >= 7 THEN UTC_TIMESTAMP() - INTERVAL 20 DAY ELSE NULL END`;
    const triggered = 'IF(seq % 10 IN (7, 8), 1, 0)';
    return `${running}, ${deadline}, ${triggered}, ${triggered}, ${deadline}, ${triggered}, ${triggered}`;
  };
  await db.execute(
    'INSERT INTO ticket_request (id, status, tto_laststart, tto_75_deadline, tto_75_passed, tto_75_triggered, ' +
      'tto_100_deadline, tto_100_passed, tto_100_triggered, ttr_laststart, ttr_75_deadline, ttr_75_passed, ' +
      'ttr_75_triggered, ttr_100_deadline, ttr_100_passed, ttr_100_triggered) ' +
      `SELECT seq, IF(seq % 10 = 9, 'new', 'closed'), ${sw()}, ${sw()} FROM seq_1_to_${n}`,
  );
}


/**
 * `n` open tickets whose TTO 100 % deadline has just passed (75 % already triggered): one escalation each
 * (`new` → `escalated_tto`) at the next pass of CheckStopWatchThresholds.
 */
export async function makeTicketsDue(db: BenchDb, n: number): Promise<void> {
  await db.execute(
    'UPDATE ticket_request SET tto_75_deadline = UTC_TIMESTAMP() - INTERVAL 2 HOUR, tto_75_triggered = 1, tto_75_passed = 1, ' +
      "tto_100_deadline = UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE status = 'new' AND tto_100_triggered = 0 " +
      `AND tto_100_deadline > UTC_TIMESTAMP() ORDER BY id LIMIT ${n}`,
  );
}
