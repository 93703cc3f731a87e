/**
 * The DDL of itop-cron's own tables (sql/own/*.sql), read from the shipped files so that each table has one
 * definition: comment lines dropped, the trailing `;` removed, `{prefix}` replaced by iTop's table prefix.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { listSchemaFiles } from './schema.js';

export function ownTableDdl(file: string, prefix: string): string {
  const [first] = listSchemaFiles();
  if (first === undefined) throw new Error("itop-cron's sql/ folder is empty");
  return readFileSync(join(dirname(first), 'own', file), 'utf8')
    .split(/\r?\n/)
    .filter((l) => !/^\s*--/.test(l))
    .join('\n')
    .trim()
    .replace(/;$/, '')
    .replaceAll('{prefix}', prefix);
}
