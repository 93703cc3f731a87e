/**
 * iTop's OQL: lexer and parser of the query language used by trigger filters and ActionEmail recipients.
 * The whole grammar is parsed (so a syntax error gives iTop's message, token and column), including a bare
 * condition as a valid input (`SELEC Person` fails on `Person`, as in iTop); oqlSql.ts then translates the
 * supported subset to SQL.
 */
import { OqlError, tokenize, type Token } from './oqlLexer.js';

export { OqlError, OqlUnsupportedError } from './oqlLexer.js';

export type Expr =
  | { readonly kind: 'field'; readonly alias: string | undefined; readonly name: string; readonly pos: number }
  | { readonly kind: 'scalar'; readonly value: string | number | null }
  | { readonly kind: 'var'; readonly name: string }
  | { readonly kind: 'binary'; readonly op: string; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'list'; readonly items: readonly Expr[] }
  | { readonly kind: 'nested' }
  | { readonly kind: 'func'; readonly name: string }
  | { readonly kind: 'interval' };

export interface OqlJoin {
  readonly cls: string;
  readonly clsPos: number;
  readonly alias: string;
  readonly left: Expr;
  readonly op: string;
  readonly right: Expr;
}

export interface OqlQuery {
  readonly kind: 'query';
  /** The selected aliases (one for `SELECT Class`). */
  readonly selected: readonly string[];
  readonly cls: string;
  readonly clsPos: number;
  readonly alias: string;
  readonly joins: readonly OqlJoin[];
  readonly where: Expr | undefined;
}

/** What the parser returns: a query, a union, or a bare condition (all valid OQL). */
export type OqlResult = OqlQuery | { readonly kind: 'union' } | { readonly kind: 'condition'; readonly expr: Expr };

const OPS2 = new Set(['MATH_PLUS', 'MATH_MINUS', 'GT', 'LT', 'GE', 'LE', 'LIKE', 'NOT_LIKE', 'MATCHES', 'REGEXP', 'EQ', 'NOT_EQ']);
const OPS1 = new Set(['MATH_DIV', 'MATH_MULT', 'BITWISE_LEFT_SHIFT', 'BITWISE_RIGHT_SHIFT']);
const OPS3 = new Set(['LOG_AND', 'BITWISE_AND']);
const OPS4 = new Set(['LOG_OR', 'BITWISE_OR', 'BITWISE_XOR']);
const JOIN_OPS = new Set(['EQ', 'BELOW', 'BELOW_STRICT', 'NOT_BELOW', 'NOT_BELOW_STRICT', 'ABOVE', 'ABOVE_STRICT', 'NOT_ABOVE', 'NOT_ABOVE_STRICT']);

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[], private readonly query: string) {}

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  /** iTop's parser error: the end of input is token `$`, value `0`, column 0. */
  fail(): never {
    const t = this.peek();
    if (t === undefined) throw new OqlError('Unexpected token $', '0', 0, this.query);
    throw new OqlError(`Unexpected token ${t.type}`, t.value, t.pos, this.query);
  }

  private take(type: string): Token {
    const t = this.peek();
    if (t?.type !== type) this.fail();
    this.i++;
    return t;
  }

  private accept(type: string): Token | undefined {
    const t = this.peek();
    if (t?.type !== type) return undefined;
    this.i++;
    return t;
  }

  private name(): Token {
    const t = this.take('NAME');
    return t.value.startsWith('`') ? { ...t, value: t.value.slice(1, -1) } : t;
  }

  result(): OqlResult {
    const first = this.peek();
    let result: OqlResult;
    if (first?.type === 'SELECT') {
      const q = this.select();
      result = this.peek()?.type === 'UNION' ? this.union() : q;
    } else {
      result = { kind: 'condition', expr: this.expr4() };
    }
    if (this.peek() !== undefined) this.fail();
    return result;
  }

  private union(): OqlResult {
    while (this.accept('UNION')) this.select();
    return { kind: 'union' };
  }

  select(): OqlQuery {
    this.take('SELECT');
    const first = this.name();
    let selected = [first.value];
    let cls = first;
    if (this.peek()?.type === 'COMA' || this.peek()?.type === 'FROM') {
      while (this.accept('COMA')) selected.push(this.name().value);
      this.take('FROM');
      cls = this.name();
    }
    const alias = this.accept('AS_ALIAS') ? this.name().value : cls.value;
    if (selected.length === 1 && selected[0] === first.value && cls === first) selected = [alias];
    const joins: OqlJoin[] = [];
    while (this.accept('JOIN')) {
      const jc = this.name();
      const ja = this.accept('AS_ALIAS') ? this.name().value : jc.value;
      this.take('ON');
      const left = this.fieldId();
      const op = this.peek();
      if (op === undefined || !JOIN_OPS.has(op.type)) this.fail();
      this.i++;
      joins.push({ cls: jc.value, clsPos: jc.pos, alias: ja, left, op: op.type, right: this.fieldId() });
    }
    const where = this.accept('WHERE') ? this.expr4() : undefined;
    return { kind: 'query', selected, cls: cls.value, clsPos: cls.pos, alias, joins, where };
  }

  private fieldId(): Expr {
    const n = this.name();
    if (!this.accept('DOT')) return { kind: 'field', alias: undefined, name: n.value, pos: n.pos };
    const f = this.name();
    return { kind: 'field', alias: n.value, name: f.value, pos: f.pos };
  }

  private binary(ops: ReadonlySet<string>, next: () => Expr): Expr {
    let left = next();
    for (let t = this.peek(); t !== undefined && ops.has(t.type); t = this.peek()) {
      this.i++;
      left = { kind: 'binary', op: t.type, left, right: next() };
    }
    return left;
  }

  expr4(): Expr {
    return this.binary(OPS4, () => this.binary(OPS3, () => this.binary(OPS2, () => this.binary(OPS1, () => this.basic()))));
  }

  private basic(): Expr {
    let e = this.primary();
    for (let t = this.peek(); t?.type === 'IN' || t?.type === 'NOT_IN'; t = this.peek()) {
      this.i++;
      e = { kind: 'binary', op: t.type, left: e, right: this.list() };
    }
    return e;
  }

  private list(): Expr {
    this.take('PAR_OPEN');
    if (this.peek()?.type === 'SELECT') {
      this.select();
      while (this.accept('UNION')) this.select();
      this.take('PAR_CLOSE');
      return { kind: 'nested' };
    }
    const items = [this.expr4()];
    while (this.accept('COMA')) items.push(this.expr4());
    this.take('PAR_CLOSE');
    return { kind: 'list', items };
  }

  private primary(): Expr {
    const t = this.peek();
    if (t === undefined) this.fail();
    switch (t.type) {
      case 'NUMVAL':
        this.i++;
        return { kind: 'scalar', value: Number(t.value) };
      case 'HEXVAL':
        this.i++;
        return { kind: 'scalar', value: Number.parseInt(t.value, 16) };
      case 'MATH_MINUS':
        this.i++;
        return { kind: 'scalar', value: -Number(this.take('NUMVAL').value) };
      case 'STRVAL':
        this.i++;
        // stripslashes of the text between the quotes
        return { kind: 'scalar', value: t.value.slice(1, -1).replace(/\\(.)/g, '$1') };
      case 'NULL_VAL':
        this.i++;
        return { kind: 'scalar', value: null };
      case 'VARNAME':
        this.i++;
        return { kind: 'var', name: t.value.slice(1) };
      case 'NAME':
        return this.fieldId();
      case 'PAR_OPEN': {
        this.i++;
        const e = this.expr4();
        this.take('PAR_CLOSE');
        return e;
      }
      default:
        if (t.type.startsWith('F_')) return this.func(t);
        return this.fail();
    }
  }

  private func(t: Token): Expr {
    this.i++;
    this.take('PAR_OPEN');
    if (this.peek()?.type !== 'PAR_CLOSE') {
      do {
        if (this.accept('INTERVAL')) {
          this.expr4();
          const unit = this.peek();
          if (!unit || !['F_SECOND', 'F_MINUTE', 'F_HOUR', 'F_DAY', 'F_MONTH', 'F_YEAR'].includes(unit.type)) this.fail();
          this.i++;
        } else {
          this.expr4();
        }
      } while (this.accept('COMA'));
    }
    this.take('PAR_CLOSE');
    return { kind: 'func', name: t.value };
  }
}

/** Parses an OQL text; throws OqlError (iTop's message) on a lexical or syntax error. */
export function parseOql(query: string): OqlResult {
  return new Parser(tokenize(query), query).result();
}
