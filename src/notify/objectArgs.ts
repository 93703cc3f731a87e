/**
 * Loading iTop objects for placeholders and recipients: an object is the rows of its class's tables
 * (root first, joined on `id`), read as its final class. A store caches what one activation loaded, so
 * `$this->caller_id->email$` and `$this->caller_id_friendlyname$` read the Person once.
 */
import type { Db } from '../db/types.js';
import { classColumnOf, classDef, friendlyNameOf, isA, resolveAttribute, tablesOf, type ResolvedAtt } from './datamodel.js';
import { tableColumns } from './schema.js';

export interface ItopObject {
  /** The final class (`UserRequest`, never `Ticket`). */
  readonly cls: string;
  readonly id: number;
  /** table (unprefixed) → its row. */
  readonly rows: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  /** table → column names, for attributes read from the columns. */
  readonly columns: ReadonlyMap<string, readonly string[]>;
}

/** Loads objects by class and id, caching them for the store's lifetime. */
export interface ObjectStore {
  readonly db: Db;
  /** The object, read as its final class; undefined when absent (or id 0). */
  load(cls: string, id: number): Promise<ItopObject | undefined>;
  /** Forgets everything (after the object was modified). */
  clear(): void;
}

async function readRow(db: Db, table: string, id: number): Promise<Record<string, unknown> | undefined> {
  const rows = await db.query(`SELECT * FROM ${db.table(table)} WHERE id = ?`, [id]);
  return rows[0];
}

/** Reads one object: the root row gives the final class, then the other tables of that class. */
export async function loadObject(db: Db, cls: string, id: number): Promise<ItopObject | undefined> {
  const rootTable = tablesOf(cls)[0];
  if (rootTable === undefined || !Number.isSafeInteger(id) || id <= 0) return undefined;
  const root = await readRow(db, rootTable, id);
  if (root === undefined) return undefined;
  const column = classColumnOf(cls);
  const named = column === undefined ? undefined : root[column];
  // A final class unknown to itop-cron (an extension's subclass) is read as the class asked for.
  const finalClass = typeof named === 'string' && classDef(named) !== undefined && isA(named, cls) ? named : cls;
  const tables = tablesOf(finalClass);
  const rows = new Map<string, Record<string, unknown>>([[rootTable, root]]);
  for (const table of tables.slice(1)) {
    const row = await readRow(db, table, id);
    if (row === undefined) return undefined;
    rows.set(table, row);
  }
  return { cls: finalClass, id, rows, columns: await tableColumns(db, tables) };
}

/** A store for one activation. */
export function createObjectStore(db: Db): ObjectStore {
  const cache = new Map<string, Promise<ItopObject | undefined>>();
  return {
    db,
    load(cls, id) {
      const key = `${cls}::${id}`;
      let p = cache.get(key);
      if (p === undefined) {
        p = loadObject(db, cls, id);
        cache.set(key, p);
      }
      return p;
    },
    clear: () => cache.clear(),
  };
}

/** The attribute `code` of the object, or undefined (iTop: unknown attribute). */
export function attributeOf(obj: ItopObject, code: string): ResolvedAtt | undefined {
  return resolveAttribute(obj.cls, code, obj.columns);
}

/** The stored value of a column of the object's tables (the first table holding it when none is named). */
export function columnValue(obj: ItopObject, column: string, table?: string): unknown {
  if (table !== undefined) return obj.rows.get(table)?.[column];
  for (const row of obj.rows.values()) if (column in row) return row[column];
  return undefined;
}

/** The stored value of an attribute held in a column (undefined for computed attributes). */
export function rawValue(obj: ItopObject, att: ResolvedAtt): unknown {
  return att.table === undefined ? undefined : columnValue(obj, att.column, att.table);
}

/** PHP's string conversion of a stored value: null → '', numbers as written. */
export function phpString(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'boolean') return v ? '1' : '';
  return String(v);
}

/**
 * The value of an attribute as iTop's `Get()` returns it, following external keys for external fields
 * (`caller_name`, `org_id_friendlyname`); '' when the key is 0.
 */
export async function attributeValue(store: ObjectStore, obj: ItopObject, code: string): Promise<string> {
  if (code === 'id') return String(obj.id);
  if (code === 'friendlyname') return friendlyName(store, obj);
  const att = attributeOf(obj, code);
  if (att === undefined) return '';
  if (att.def.type === 'extfield') {
    const remote = await remoteObject(store, obj, att.def.key ?? '');
    return remote === undefined ? '' : attributeValue(store, remote, att.def.remote ?? '');
  }
  return phpString(rawValue(obj, att));
}

/** An OQL argument `:<param>-><code>`: the attribute's value, undefined when the class has no such attribute. */
export async function argumentValue(store: ObjectStore, obj: ItopObject, code: string): Promise<string | undefined> {
  if (code !== 'id' && code !== 'friendlyname' && attributeOf(obj, code) === undefined) return undefined;
  return attributeValue(store, obj, code);
}

/** The object an external key of `obj` points to, if any. */
export async function remoteObject(store: ObjectStore, obj: ItopObject, keyCode: string): Promise<ItopObject | undefined> {
  const key = attributeOf(obj, keyCode);
  if (key?.def.type !== 'extkey' || key.def.target === undefined) return undefined;
  const id = Number(rawValue(obj, key) ?? 0);
  return id > 0 ? store.load(key.def.target, id) : undefined;
}

/** iTop's friendly name: the naming attributes of the class joined by a space. */
export async function friendlyName(store: ObjectStore, obj: ItopObject): Promise<string> {
  const parts: string[] = [];
  for (const code of friendlyNameOf(obj.cls)) parts.push(await attributeValue(store, obj, code));
  return parts.join(' ');
}

/** The friendly names of the remote objects of an indirect link set, in link order. */
export async function linkedNames(store: ObjectStore, obj: ItopObject, att: ResolvedAtt): Promise<string[]> {
  const link = att.def.link;
  const linkTable = link === undefined ? undefined : tablesOf(link.linkClass)[0];
  if (link === undefined || linkTable === undefined) return [];
  const db = store.db;
  const rows = await db.query<{ id: number }>(
    `SELECT id FROM ${db.table(linkTable)} WHERE \`${link.toMe}\` = ? ORDER BY id`,
    [obj.id],
  );
  const names: string[] = [];
  for (const row of rows) {
    const lnk = await store.load(link.linkClass, row.id);
    const remote = lnk === undefined ? undefined : await remoteObject(store, lnk, link.toRemote);
    if (remote !== undefined) names.push(await friendlyName(store, remote));
  }
  return names;
}
