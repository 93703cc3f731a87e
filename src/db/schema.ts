/**
 * The project's own DDL of the iTop tables it touches (`sql/*.sql`), so that itop-cron builds and tests
 * without an iTop installation. Table names carry a `{prefix}` placeholder for iTop's `db_subname`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../packageRoot.js';

/** What a prefix may hold: it goes into SQL identifiers unescaped, inside backquotes. */
const PREFIX_PATTERN = /^[A-Za-z0-9_]*$/;

function sqlDir(): string {
  return join(packageRoot(), 'sql');
}

/** The schema files, absolute paths, in the order they must be applied (their numbered names). */
export function listSchemaFiles(): string[] {
  const dir = sqlDir();
  return readdirSync(dir)
    .filter((name) => name.endsWith('.sql'))
    .sort()
    .map((name) => join(dir, name));
}

/** Throws unless `prefix` is a safe table-name prefix (letters, digits, underscore; may be empty). */
export function assertValidPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`invalid table prefix ${JSON.stringify(prefix)}: only letters, digits and _ are allowed`);
  }
}

/**
 * Splits one file into statements. The files are written so that a statement ends with `;` at the end of
 * a line and never holds one inside, which keeps this free of a SQL tokenizer; whole-line `--` comments
 * are dropped so that a trailing comment does not become an empty statement.
 */
function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*--/.test(line)) continue;
    current.push(line);
    if (/;\s*$/.test(line)) {
      statements.push(current.join('\n').trim().replace(/;$/, ''));
      current = [];
    }
  }
  const rest = current.join('\n').trim();
  if (rest !== '') statements.push(rest);
  return statements.filter((s) => s !== '');
}

/**
 * Every statement of the schema, files in order, with `{prefix}` replaced by `prefix`.
 * Throws on a prefix that is not `^[A-Za-z0-9_]*$`.
 */
export function schemaStatements(prefix: string): string[] {
  assertValidPrefix(prefix);
  return listSchemaFiles().flatMap((file) =>
    splitStatements(readFileSync(file, 'utf8')).map((s) => s.replaceAll('{prefix}', prefix)),
  );
}

/**
 * Creates the missing tables (and the standard profiles) in the current database, one statement at a
 * time (no multipleStatements needed). Idempotent: CREATE TABLE IF NOT EXISTS and INSERT IGNORE.
 */
export async function applySchema(q: { execute(sql: string): Promise<unknown> }, prefix: string): Promise<void> {
  for (const statement of schemaStatements(prefix)) {
    await q.execute(statement);
  }
}
