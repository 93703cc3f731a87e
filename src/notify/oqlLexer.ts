/**
 * iTop's OQL lexer: the tokens of oql-lexer.plex (keywords are case-sensitive, the longest match wins,
 * a keyword wins a tie against a name), and iTop's OQLException message format.
 */

/** iTop's OQLException text: `<issue> - found '<token>' at <column> in '<query>'`. */
export class OqlError extends Error {
  constructor(issue: string, found: string, column: number, query: string) {
    super(`${issue} - found '${found}' at ${column} in '${query}'`);
    this.name = 'OqlError';
  }
}

/** A valid OQL query that itop-cron cannot translate (the message names the construct). */
export class OqlUnsupportedError extends Error {
  constructor(what: string, query: string) {
    super(`OQL not supported by itop-cron (${what}) in '${query}'`);
    this.name = 'OqlUnsupportedError';
  }
}

export interface Token {
  readonly type: string;
  readonly value: string;
  readonly pos: number;
}

/** Keywords (case-sensitive, as iTop's lexer), longest first where one is a prefix of another. */
const KEYWORDS: ReadonlyArray<readonly [string, string]> = [
  ['NOT BELOW STRICT', 'NOT_BELOW_STRICT'], ['NOT ABOVE STRICT', 'NOT_ABOVE_STRICT'], ['BELOW STRICT', 'BELOW_STRICT'],
  ['ABOVE STRICT', 'ABOVE_STRICT'], ['NOT BELOW', 'NOT_BELOW'], ['NOT ABOVE', 'NOT_ABOVE'], ['NOT LIKE', 'NOT_LIKE'],
  ['NOT IN', 'NOT_IN'], ['SELECT', 'SELECT'], ['FROM', 'FROM'], ['AS', 'AS_ALIAS'], ['WHERE', 'WHERE'], ['JOIN', 'JOIN'],
  ['ON', 'ON'], ['AND', 'LOG_AND'], ['OR', 'LOG_OR'], ['UNION', 'UNION'], ['REGEXP', 'REGEXP'], ['LIKE', 'LIKE'],
  ['MATCHES', 'MATCHES'], ['IN', 'IN'], ['INTERVAL', 'INTERVAL'], ['NULL', 'NULL_VAL'], ['BELOW', 'BELOW'],
  ['ABOVE', 'ABOVE'],
];
const FUNCTIONS = new Set([
  'IF', 'ELT', 'COALESCE', 'ISNULL', 'CONCAT', 'SUBSTR', 'TRIM', 'DATE', 'DATE_FORMAT', 'CURRENT_DATE', 'NOW', 'TIME',
  'TO_DAYS', 'FROM_DAYS', 'YEAR', 'MONTH', 'DAY', 'HOUR', 'MINUTE', 'SECOND', 'DATE_ADD', 'DATE_SUB', 'ROUND', 'FLOOR',
  'INET_ATON', 'INET_NTOA',
]);
const PUNCT: ReadonlyArray<readonly [string, string]> = [
  ['!=', 'NOT_EQ'], ['>=', 'GE'], ['<=', 'LE'], ['<<', 'BITWISE_LEFT_SHIFT'], ['>>', 'BITWISE_RIGHT_SHIFT'],
  [',', 'COMA'], ['(', 'PAR_OPEN'], [')', 'PAR_CLOSE'], ['/', 'MATH_DIV'], ['*', 'MATH_MULT'], ['+', 'MATH_PLUS'],
  ['-', 'MATH_MINUS'], ['=', 'EQ'], ['>', 'GT'], ['<', 'LT'], ['.', 'DOT'], ['&', 'BITWISE_AND'], ['|', 'BITWISE_OR'],
  ['^', 'BITWISE_XOR'],
];
const TOKEN_RES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^0x[0-9a-fA-F]+/, 'HEXVAL'],
  [/^[0-9]+/, 'NUMVAL'],
  [/^("([^\\"]|\\"|\\\\)*"|'([^\\']|\\'|\\\\)*')/, 'STRVAL'],
  [/^:([_a-zA-Z][_a-zA-Z0-9]*->[_a-zA-Z][_a-zA-Z0-9]*|[_a-zA-Z][_a-zA-Z0-9]*)/, 'VARNAME'],
  [/^([_a-zA-Z][_a-zA-Z0-9]*|`[^`]+`)/, 'NAME'],
];

/** Splits an OQL text into tokens (longest match; a keyword wins a tie against a name). */
export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < query.length) {
    const rest = query.slice(pos);
    const ws = /^[ \t\n\r]+/.exec(rest);
    if (ws) {
      pos += ws[0].length;
      continue;
    }
    let best: { type: string; value: string } | undefined;
    for (const [re, type] of TOKEN_RES) {
      const m = re.exec(rest);
      if (m && (best === undefined || m[0].length > best.value.length)) best = { type, value: m[0] };
    }
    for (const [kw, type] of KEYWORDS) {
      if (rest.startsWith(kw) && (best === undefined || kw.length >= best.value.length)) {
        best = { type, value: kw };
        break;
      }
    }
    if (best?.type === 'NAME' && FUNCTIONS.has(best.value)) best = { type: `F_${best.value}`, value: best.value };
    if (best === undefined) {
      const punct = PUNCT.find(([p]) => rest.startsWith(p));
      if (punct === undefined) throw new OqlError('Syntax error', rest[0] ?? '', pos, query);
      best = { type: punct[1], value: punct[0] };
    }
    tokens.push({ ...best, pos });
    pos += best.value.length;
  }
  return tokens;
}
