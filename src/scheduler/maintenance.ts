import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The flag files iTop's setup, restore and core update create. */
export function maintenanceFiles(appRoot: string | undefined): { maintenance?: string; readonly?: string } {
  if (appRoot === undefined) return {};
  return { maintenance: join(appRoot, 'data', '.maintenance'), readonly: join(appRoot, 'data', '.readonly') };
}

/** True when either flag file exists: the run must stop and release the lock. */
export function maintenanceDetected(appRoot: string | undefined): boolean {
  const f = maintenanceFiles(appRoot);
  return (f.maintenance !== undefined && existsSync(f.maintenance)) || (f.readonly !== undefined && existsSync(f.readonly));
}
