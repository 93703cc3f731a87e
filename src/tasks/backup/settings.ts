/**
 * The `itop-backup` module's settings and BackupExec's weekly schedule, apart from the backup itself
 * (mysqldump, tar): the scheduler plans the task from here without loading the code that runs it.
 */
import { getOwn, moduleSetting } from '../../config/php.js';
import type { Config, PhpValue } from '../../config/types.js';
import { DEFAULT_WEEK_DAYS, weeklyNextOccurrence } from '../../scheduler/weekly.js';
import type { TaskSchedule } from '../types.js';
import { DEFAULT_BACKUP_NAME_FORMAT } from './fileName.js';

const MODULE = 'itop-backup';

/** The defaults the itop-backup module writes into its section of the configuration. */
const MODULE_DEFAULTS = { week_days: 'monday, tuesday, wednesday, thursday, friday', time: '23:30', retention_count: 5 };

export type BackupSetting = 'enabled' | 'week_days' | 'time' | 'retention_count' | 'mysql_bindir' | 'file_name_format' | 'extra_files';

/** A module setting; when the whole section is missing, iTop's code defaults (every day) apply instead. */
export function backupSetting(config: Config, key: BackupSetting): PhpValue | undefined {
  const section = getOwn(config.moduleSettings, MODULE) !== undefined;
  const defaults: Record<BackupSetting, PhpValue | undefined> = {
    enabled: true,
    week_days: section ? MODULE_DEFAULTS.week_days : DEFAULT_WEEK_DAYS,
    time: MODULE_DEFAULTS.time,
    retention_count: MODULE_DEFAULTS.retention_count,
    mysql_bindir: '',
    file_name_format: DEFAULT_BACKUP_NAME_FORMAT,
    extra_files: undefined,
  };
  return moduleSetting(config.moduleSettings, MODULE, key, defaults[key]);
}

/** BackupExec's class and weekly schedule (the module's `enabled`, `week_days` and `time`). */
export const BACKUP_EXEC_SCHEDULE: TaskSchedule = {
  className: 'BackupExec',
  nextOccurrence(config, nowMs) {
    return weeklyNextOccurrence({
      module: MODULE,
      enabled: backupSetting(config, 'enabled'),
      weekDays: backupSetting(config, 'week_days'),
      time: backupSetting(config, 'time'),
      nowMs,
      tz: config.timezone,
    });
  },
};
