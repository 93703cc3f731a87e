/**
 * Translates the supported subset of OQL (oql.ts) to one SQL statement on iTop's tables: a class is its
 * tables joined on `id` (root first), a JOIN is an inner join on the two fields, WHERE supports fields,
 * literals, `:parameters`, comparisons, LIKE, IN lists, AND/OR and arithmetic. External fields become
 * correlated sub-queries. Functions, nested queries, MATCHES, BELOW/ABOVE and unions are refused with
 * OqlUnsupportedError; unknown classes and attributes with OqlError, as iTop.
 */
import type { Db, SqlParam } from '../db/types.js';
import {
  classDef,
  classPath,
  friendlyNameOf,
  resolveAttribute,
  tablesOf,
  type ResolvedAtt,
} from './datamodel.js';
import { OqlError, OqlUnsupportedError, type Expr, type OqlQuery } from './oql.js';
import { tableColumns } from './schema.js';

/** Resolves `:name` parameters (`this->caller_id`, `current_contact_id`...); undefined when unknown. */
export type ParamResolver = (name: string) => SqlParam | undefined | Promise<SqlParam | undefined>;

export interface SqlContext {
  readonly db: Db;
  readonly query: string;
  readonly params: ParamResolver;
}

/** A translated query: FROM/WHERE parts, the alias → class map and the bound values. */
export interface SqlQuery {
  readonly from: string;
  readonly where: string;
  readonly values: SqlParam[];
  readonly aliases: ReadonlyMap<string, string>;
  /** The first selected alias and its class. */
  readonly selectedAlias: string;
  readonly selectedClass: string;
}

const q = (name: string): string => `\`${name.replace(/`/g, '``')}\``;

/** The SQL alias of one of a class alias's tables. */
function tableAlias(alias: string, table: string, root: string): string {
  return table === root ? q(alias) : q(`${alias}__${table}`);
}

function checkClass(ctx: SqlContext, cls: string, pos: number): void {
  if (classDef(cls) === undefined || tablesOf(cls).length === 0) {
    throw new OqlError(`Unknown class '${cls}' (not in itop-cron's data model)`, cls, pos, ctx.query);
  }
}

/** `root AS a INNER JOIN sub AS a__sub ON a__sub.id = a.id ...` for one class alias. */
function classTables(ctx: SqlContext, cls: string, alias: string): string {
  const [root, ...rest] = tablesOf(cls);
  if (root === undefined) throw new OqlError(`Unknown class '${cls}'`, cls, 0, ctx.query);
  let sql = `${ctx.db.table(root)} AS ${q(alias)}`;
  for (const t of rest) sql += ` INNER JOIN ${ctx.db.table(t)} AS ${tableAlias(alias, t, root)} ON ${tableAlias(alias, t, root)}.id = ${q(alias)}.id`;
  return sql;
}

interface Scope {
  readonly ctx: SqlContext;
  readonly aliases: Map<string, string>;
  readonly main: string;
  readonly values: SqlParam[];
}

/** The SQL expression of attribute `att` of `alias` (class `cls`). */
async function attributeSql(scope: Scope, alias: string, cls: string, att: ResolvedAtt): Promise<string> {
  const root = tablesOf(cls)[0] ?? '';
  switch (att.def.type) {
    case 'extfield':
      return extFieldSql(scope, alias, cls, att);
    case 'linkset':
      throw new OqlUnsupportedError(`condition on the link set '${att.code}'`, scope.ctx.query);
    case 'stopwatch':
      return `${tableAlias(alias, att.table ?? root, root)}.${q(`${att.code}_timespent`)}`;
    case 'subitem':
      return `${tableAlias(alias, att.table ?? root, root)}.${q(`${att.def.stopwatch}_${att.def.threshold}_${att.def.item}`)}`;
    default:
      break;
  }
  return `${tableAlias(alias, att.table ?? root, root)}.${q(att.column)}`;
}

/** `(SELECT <remote attribute> FROM <remote tables> WHERE r.id = <key>)`: an external field. */
async function extFieldSql(scope: Scope, alias: string, cls: string, att: ResolvedAtt): Promise<string> {
  const keyAtt = await findAttribute(scope, cls, att.def.key ?? '', 0);
  const target = keyAtt.def.target ?? '';
  const keySql = await attributeSql(scope, alias, cls, keyAtt);
  const remoteAlias = `${alias}_${att.code}`;
  const inner: Scope = { ...scope, aliases: new Map([[remoteAlias, target]]) };
  const remote = await fieldSql(inner, remoteAlias, target, att.def.remote ?? '', 0);
  return `(SELECT ${remote} FROM ${classTables(scope.ctx, target, remoteAlias)} WHERE ${q(remoteAlias)}.id = ${keySql})`;
}

async function findAttribute(scope: Scope, cls: string, code: string, pos: number): Promise<ResolvedAtt> {
  const columns = await tableColumns(scope.ctx.db, tablesOf(cls));
  const att = resolveAttribute(cls, code, columns);
  if (att === undefined) throw new OqlError(`Unknown attribute '${code}' of class '${cls}'`, code, pos, scope.ctx.query);
  return att;
}

/** The SQL of a field `code` of `alias`: `id`, `friendlyname` or an attribute. */
async function fieldSql(scope: Scope, alias: string, cls: string, code: string, pos: number): Promise<string> {
  if (code === 'id') return `${q(alias)}.id`;
  if (code === 'friendlyname') return friendlyNameSql(scope, alias, cls);
  return attributeSql(scope, alias, cls, await findAttribute(scope, cls, code, pos));
}

/** iTop's friendly name: the naming attributes joined by a space. */
export async function friendlyNameSql(scope: Scope, alias: string, cls: string): Promise<string> {
  const parts: string[] = [];
  for (const code of friendlyNameOf(cls)) parts.push(`COALESCE(${await fieldSql(scope, alias, cls, code, 0)}, '')`);
  return parts.length === 1 ? `CAST(${parts[0]} AS CHAR)` : `CONCAT_WS(' ', ${parts.join(', ')})`;
}

const BINARY_SQL: Readonly<Record<string, string>> = {
  EQ: '=', NOT_EQ: '!=', GT: '>', LT: '<', GE: '>=', LE: '<=', LIKE: 'LIKE', NOT_LIKE: 'NOT LIKE', REGEXP: 'REGEXP',
  LOG_AND: 'AND', LOG_OR: 'OR', MATH_PLUS: '+', MATH_MINUS: '-', MATH_MULT: '*', MATH_DIV: '/', BITWISE_AND: '&',
  BITWISE_OR: '|', BITWISE_XOR: '^', BITWISE_LEFT_SHIFT: '<<', BITWISE_RIGHT_SHIFT: '>>', IN: 'IN', NOT_IN: 'NOT IN',
};

/** The SQL of a WHERE/ON expression, values bound in order. */
async function exprSql(scope: Scope, e: Expr): Promise<string> {
  switch (e.kind) {
    case 'field': {
      const alias = e.alias ?? scope.main;
      const cls = scope.aliases.get(alias);
      if (cls === undefined) throw new OqlError(`Unknown class alias '${alias}'`, alias, e.pos, scope.ctx.query);
      return fieldSql(scope, alias, cls, e.name, e.pos);
    }
    case 'scalar':
      if (e.value === null) return 'NULL';
      scope.values.push(e.value);
      return '?';
    case 'var': {
      const value = await scope.ctx.params(e.name);
      if (value === undefined) throw new OqlError('Missing query argument', `:${e.name}`, 0, scope.ctx.query);
      scope.values.push(value);
      return '?';
    }
    case 'list': {
      const items: string[] = [];
      for (const item of e.items) items.push(await exprSql(scope, item));
      return `(${items.join(', ')})`;
    }
    case 'binary': {
      const op = BINARY_SQL[e.op];
      if (op === undefined) throw new OqlUnsupportedError(`operator ${e.op}`, scope.ctx.query);
      const left = await exprSql(scope, e.left);
      return `(${left} ${op} ${await exprSql(scope, e.right)})`;
    }
    case 'nested':
      throw new OqlUnsupportedError('nested query', scope.ctx.query);
    case 'func':
      throw new OqlUnsupportedError(`function ${e.name}()`, scope.ctx.query);
    default:
      throw new OqlUnsupportedError('INTERVAL', scope.ctx.query);
  }
}

/**
 * Translates a parsed query: the FROM clause (the class tables and the JOINs), the WHERE condition
 * (`1` when none) and the bound values.
 */
export async function translateQuery(ctx: SqlContext, query: OqlQuery): Promise<SqlQuery & { scope: Scope }> {
  checkClass(ctx, query.cls, query.clsPos);
  const aliases = new Map<string, string>([[query.alias, query.cls]]);
  const scope: Scope = { ctx, aliases, main: query.alias, values: [] };
  let from = classTables(ctx, query.cls, query.alias);
  for (const join of query.joins) {
    checkClass(ctx, join.cls, join.clsPos);
    if (aliases.has(join.alias)) throw new OqlError('Duplicate class alias', join.alias, join.clsPos, ctx.query);
    if (join.op !== 'EQ') throw new OqlUnsupportedError(`JOIN ... ${join.op}`, ctx.query);
    aliases.set(join.alias, join.cls);
    const on = `${await exprSql(scope, join.left)} = ${await exprSql(scope, join.right)}`;
    from += ` INNER JOIN (${classTables(ctx, join.cls, join.alias)}) ON ${on}`;
  }
  const where = query.where === undefined ? '1' : await exprSql(scope, query.where);
  if (query.selected.length !== 1) throw new OqlUnsupportedError('several selected classes', ctx.query);
  const selectedAlias = query.selected[0] ?? query.alias;
  const selectedClass = aliases.get(selectedAlias);
  if (selectedClass === undefined) throw new OqlError(`Unknown class alias '${selectedAlias}'`, selectedAlias, 7, ctx.query);
  return { from, where, values: scope.values, aliases, selectedAlias, selectedClass, scope };
}

/** The SQL expression of an attribute of the selected alias (e.g. its e-mail), for SELECT lists. */
export function selectedFieldSql(t: SqlQuery & { scope: Scope }, code: string): Promise<string> {
  return fieldSql(t.scope, t.selectedAlias, t.selectedClass, code, 0);
}

/** The friendly name SQL of the selected alias, for ORDER BY. */
export function selectedFriendlyNameSql(t: SqlQuery & { scope: Scope }): Promise<string> {
  return friendlyNameSql(t.scope, t.selectedAlias, t.selectedClass);
}

/** True when `cls` is known and below `ancestor` (used for Contact-only features). */
export function classIsA(cls: string, ancestor: string): boolean {
  return classPath(cls).includes(ancestor);
}
