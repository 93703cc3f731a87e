/**
 * The part of iTop's data model the notifications need, as data: classes, their tables (root first),
 * their attributes and types, friendly names and labels (EN US). iTop compiles its model into PHP; the
 * database alone does not say that `caller_id` points to a Person or that `status` has labels, so the
 * classes of the standard model that tickets, contacts and notifications use are described in
 * classes.ts. An attribute not described there but present as a column of the object's tables is read
 * as a plain value (see `resolveAttribute`).
 */

/** How an attribute is stored and rendered (iTop's AttributeDefinition families). */
export type AttType =
  | 'string'
  | 'text'
  | 'html'
  | 'email'
  | 'int'
  | 'enum'
  | 'extkey'
  | 'extfield'
  | 'datetime'
  | 'date'
  | 'caselog'
  | 'linkset'
  | 'stopwatch'
  | 'subitem';

export interface AttDef {
  readonly type: AttType;
  /** The column, in the table of the class declaring the attribute (default: the attribute code). */
  readonly column?: string;
  /** extkey: the target class. */
  readonly target?: string;
  /** extfield: the external key attribute and the remote attribute (`friendlyname` allowed). */
  readonly key?: string;
  readonly remote?: string;
  /** enum: code → label (EN US); a code without a label shows as itself. */
  readonly labels?: Readonly<Record<string, string>>;
  /** enum: rendered by `html` as a field badge (lifecycle state attributes). */
  readonly badge?: boolean;
  /** linkset (indirect): the link class, its key to this object and its key to the remote object. */
  readonly link?: { readonly linkClass: string; readonly toMe: string; readonly toRemote: string };
  /** subitem: stopwatch attribute code, threshold index and item. */
  readonly stopwatch?: string;
  readonly threshold?: number;
  readonly item?: 'deadline' | 'passed' | 'overrun' | 'triggered';
}

export interface ClassDef {
  readonly name: string;
  /** The data-model parent; undefined for a root class. */
  readonly parent?: string;
  /** The class's own table (unprefixed); abstract classes without columns of their own have none. */
  readonly table?: string;
  /** The column of the root table naming the object's class: `finalclass` or `realclass`. */
  readonly classColumn?: string;
  /** `Class:<name>` in the EN US dictionary. */
  readonly label: string;
  /** Attribute codes joined by a space (`first_name name` for a Person). */
  readonly friendlyName: readonly string[];
  /** The class shows a summary card on hover (its hyperlinks carry the data-tooltip attributes). */
  readonly summaryCard?: boolean;
  readonly attributes: Readonly<Record<string, AttDef>>;
}

/** An attribute with the class and the table holding it. */
export interface ResolvedAtt {
  readonly code: string;
  readonly def: AttDef;
  /** The table of the declaring class, unprefixed (undefined for computed attributes). */
  readonly table: string | undefined;
  readonly column: string;
  /** True when taken from the database columns, not from the described model. */
  readonly fromColumn: boolean;
}

const classes = new Map<string, ClassDef>();

/** Adds class definitions (classes.ts calls it once; tests may add their own). */
export function defineClasses(defs: readonly ClassDef[]): void {
  for (const def of defs) classes.set(def.name, def);
}

/** The class definition, or undefined when itop-cron does not know the class. */
export function classDef(name: string): ClassDef | undefined {
  return classes.get(name);
}

/** The class and its ancestors, root first: iTop's EnumParentClasses(class, ENUM_PARENT_CLASSES_ALL). */
export function classPath(name: string): string[] {
  const path: string[] = [];
  for (let c = classes.get(name); c !== undefined; c = c.parent === undefined ? undefined : classes.get(c.parent)) {
    path.unshift(c.name);
  }
  return path;
}

/** The root class of `name` (itself when unknown). */
export function rootClass(name: string): string {
  return classPath(name)[0] ?? name;
}

/** True when `name` is `ancestor` or one of its subclasses. */
export function isA(name: string, ancestor: string): boolean {
  return classPath(name).includes(ancestor);
}

/** The tables of a class, root first (classes without a table of their own are skipped). */
export function tablesOf(name: string): string[] {
  return classPath(name)
    .map((c) => classes.get(c)?.table)
    .filter((t): t is string => t !== undefined);
}

/** The column naming the final class in the root table, if the class has subclasses. */
export function classColumnOf(name: string): string | undefined {
  for (const c of classPath(name)) {
    const col = classes.get(c)?.classColumn;
    if (col !== undefined) return col;
  }
  return undefined;
}

/**
 * The described attribute `code` of `name` (searching the class, then its ancestors), with the table of
 * the class that declares it.
 */
export function describedAttribute(name: string, code: string): ResolvedAtt | undefined {
  for (const c of classPath(name).reverse()) {
    const def = classes.get(c);
    const att = def?.attributes[code];
    if (def !== undefined && att !== undefined) {
      const table = att.type === 'extfield' || att.type === 'linkset' ? undefined : def.table;
      return { code, def: att, table, column: att.column ?? code, fromColumn: false };
    }
  }
  return undefined;
}

/** Columns that hold internal data rather than an attribute, never exposed through the fallback. */
function isInternalColumn(column: string, name: string): boolean {
  if (column === 'id' || column === 'finalclass' || column === 'realclass') return true;
  if (/_(index|format|data|mimetype|filename|downloads_count)$/.test(column)) return true;
  // Stopwatch sub-columns (`tto_started`, `tto_75_deadline`...) are not attributes.
  for (const c of classPath(name)) {
    for (const [code, att] of Object.entries(classes.get(c)?.attributes ?? {})) {
      if (att.type === 'stopwatch' && column.startsWith(`${code}_`)) return true;
    }
  }
  return false;
}

/**
 * The attribute `code` of `name`: the described one, else a column of the class's tables (`columns`
 * maps table → column names) read as a plain string; undefined when neither exists (iTop: unknown
 * attribute).
 */
export function resolveAttribute(
  name: string,
  code: string,
  columns: ReadonlyMap<string, readonly string[]>,
): ResolvedAtt | undefined {
  const described = describedAttribute(name, code);
  if (described !== undefined) return described;
  if (isInternalColumn(code, name)) return undefined;
  for (const table of tablesOf(name)) {
    if (columns.get(table)?.includes(code)) {
      return { code, def: { type: 'string' }, table, column: code, fromColumn: true };
    }
  }
  return undefined;
}

/** The first e-mail attribute of the class (iTop takes the first AttributeEmailAddress). */
export function emailAttribute(name: string): string | undefined {
  for (const c of classPath(name)) {
    for (const [code, att] of Object.entries(classes.get(c)?.attributes ?? {})) {
      if (att.type === 'email') return code;
    }
  }
  return undefined;
}

/** The friendly name attributes of the class (the nearest class that defines them). */
export function friendlyNameOf(name: string): readonly string[] {
  for (const c of classPath(name).reverse()) {
    const fn = classes.get(c)?.friendlyName;
    if (fn !== undefined && fn.length > 0) return fn;
  }
  return ['id'];
}
