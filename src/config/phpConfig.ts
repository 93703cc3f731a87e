/**
 * Reads iTop's `config-itop.php` without PHP: a tokenizer and recursive-descent parser for the `var_export`
 * subset the setup writes, plus `$Var['key'] = value;` lines that administrators sometimes add.
 * Nothing is evaluated. Errors name the file, the line and what was expected, but never echo file content:
 * the file holds `db_pwd`, and a broken line may be the one with the password on it.
 */
import { ConfigError } from '../errors.js';
import { setOwn } from './php.js';
import type { PhpArray, PhpValue } from './types.js';

type TokKind = 'var' | 'str' | 'num' | 'name' | 'punct' | 'end';
interface Tok {
  readonly kind: TokKind;
  /** The variable name, the punctuation, or the identifier; the decoded string or number is in `value`. */
  readonly text: string;
  readonly value: string | number;
  readonly line: number;
}

/** A PHP array while it is being built: ordered keys and PHP's next free integer index. */
class PhpMap {
  readonly entries = new Map<string, Scalar | PhpMap>();
  nextIndex = 0;
  set(key: string | number, value: Scalar | PhpMap): void {
    this.entries.set(String(key), value);
    if (typeof key === 'number' && key >= this.nextIndex) this.nextIndex = key + 1;
  }
}
type Scalar = string | number | boolean | null;
type Built = Scalar | PhpMap;

/** What `parsePhpConfig` returns: the three arrays a config file defines. */
export interface ParsedPhpConfig {
  settings: PhpArray;
  moduleSettings: Record<string, PhpArray>;
  modules: PhpArray;
}

const SINGLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'" };
const DOUBLE_ESCAPES: Record<string, string> = {
  n: '\n', t: '\t', r: '\r', v: '\v', e: '\x1b', f: '\f', '\\': '\\', $: '$', '"': '"',
};

class Lexer {
  private pos = 0;
  private line = 1;
  constructor(private readonly src: string, private readonly file: string) {}

  fail(line: number, what: string): never {
    throw new ConfigError(`${this.file}: line ${line}: ${what}`);
  }

  /** Skips the byte-order mark, leading blanks and the `<?php` open tag. */
  openTag(): void {
    const m = /^\uFEFF?(\s*)<\?php(?=\s)/i.exec(this.src);
    if (!m) this.fail(1, "expected '<?php' at the start of the file");
    this.line += (m[1] ?? '').split('\n').length - 1;
    this.pos = m[0].length;
  }

  next(): Tok {
    this.skipBlanksAndComments();
    const s = this.src;
    const line = this.line;
    const c = s.charAt(this.pos);
    if (c === '' || s.startsWith('?>', this.pos)) return { kind: 'end', text: '', value: '', line };
    if (c === "'" || c === '"') return { kind: 'str', text: c, value: this.quoted(c), line };
    const rest = s.slice(this.pos);
    const word = /^\$?[A-Za-z_\x80-\uffff][\w\x80-\uffff]*/.exec(rest)?.[0];
    if (word !== undefined) {
      this.pos += word.length;
      return { kind: word.startsWith('$') ? 'var' : 'name', text: word, value: word, line };
    }
    const num = /^(?:0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/.exec(rest)?.[0];
    if (num !== undefined) {
      this.pos += num.length;
      return { kind: 'num', text: num, value: numberValue(num), line };
    }
    const punct = rest.startsWith('=>') ? '=>' : '()[],;=-+'.includes(c) ? c : undefined;
    if (punct === undefined) this.fail(line, 'unexpected character');
    this.pos += punct.length;
    return { kind: 'punct', text: punct, value: punct, line };
  }

  private skipBlanksAndComments(): void {
    const s = this.src;
    for (;;) {
      const c = s.charAt(this.pos);
      if (c === '\n') this.line++;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\f' || c === '\v') {
        this.pos++;
      } else if (c === '#' || s.startsWith('//', this.pos)) {
        // A one-line comment ends at the newline, or at `?>`, which closes PHP mode even there.
        while (this.pos < s.length && s.charAt(this.pos) !== '\n' && !s.startsWith('?>', this.pos)) this.pos++;
      } else if (s.startsWith('/*', this.pos)) {
        const end = s.indexOf('*/', this.pos + 2);
        if (end < 0) this.fail(this.line, "unterminated comment: expected '*/'");
        this.line += s.slice(this.pos, end).split('\n').length - 1;
        this.pos = end + 2;
      } else {
        return;
      }
    }
  }

  /** Decodes a quoted string starting at `pos`; `$` interpolation in double quotes is refused, not guessed. */
  private quoted(q: string): string {
    const s = this.src;
    const startLine = this.line;
    const escapes = q === "'" ? SINGLE_ESCAPES : DOUBLE_ESCAPES;
    let out = '';
    for (let i = this.pos + 1; i < s.length; i++) {
      const c = s.charAt(i);
      if (c === '\n') this.line++;
      if (c === q) {
        this.pos = i + 1;
        return out;
      }
      if (q === '"' && c === '$' && /[A-Za-z_{]/.test(s.charAt(i + 1))) {
        this.fail(this.line, 'variables inside double-quoted strings are not supported: use single quotes');
      }
      if (c !== '\\') {
        out += c;
        continue;
      }
      const d = s.charAt(i + 1);
      const simple = Object.prototype.hasOwnProperty.call(escapes, d) ? escapes[d] : undefined;
      const code = q === '"' ? /^(?:[0-7]{1,3}|x[0-9a-fA-F]{1,2})/.exec(s.slice(i + 1))?.[0] : undefined;
      if (simple !== undefined) {
        out += simple;
        i++;
      } else if (code !== undefined) {
        out += String.fromCharCode(code.startsWith('x') ? parseInt(code.slice(1), 16) : parseInt(code, 8) & 0xff);
        i += code.length;
      } else {
        out += c; // PHP keeps an unknown escape as written, backslash included
      }
    }
    return this.fail(startLine, `unterminated string: expected a closing ${q}`);
  }
}

function numberValue(text: string): number {
  if (/^0[xX]/.test(text)) return parseInt(text.slice(2), 16);
  if (/^0[0-7]+$/.test(text)) return parseInt(text, 8); // PHP reads a leading 0 as octal
  return Number(text);
}

/** How an unexpected token is named in an error: by its kind, never its content (it may be a password). */
const KIND_NAMES: Record<TokKind, string> = {
  var: 'a variable', str: 'a string', num: 'a number', name: 'a name', punct: 'punctuation', end: 'the end of the file',
};
function describe(t: Tok): string {
  return t.kind === 'punct' ? `'${t.text}'` : KIND_NAMES[t.kind];
}

class Parser {
  private tok: Tok;
  readonly vars = new Map<string, Built>();
  constructor(private readonly lex: Lexer) {
    lex.openTag();
    this.tok = lex.next();
  }

  private take(): Tok {
    const t = this.tok;
    this.tok = this.lex.next();
    return t;
  }

  private expect(text: string, what: string): void {
    if (this.tok.kind !== 'punct' || this.tok.text !== text) this.expected(what);
    this.take();
  }

  private expected(what: string): never {
    return this.lex.fail(this.tok.line, `expected ${what}, found ${describe(this.tok)}`);
  }

  private isPunct(text: string): boolean {
    return this.tok.kind === 'punct' && this.tok.text === text;
  }

  /** `$Var = value;` or `$Var['a']['b'] = value;` (`[]` appends), until the end of the file or `?>`. */
  statements(): void {
    while (this.tok.kind !== 'end') {
      if (this.tok.kind !== 'var') this.expected("a variable such as '$MySettings'");
      const name = this.take().text;
      const path: (string | number | undefined)[] = [];
      while (this.isPunct('[')) {
        this.take();
        path.push(this.isPunct(']') ? undefined : this.key(this.value()));
        this.expect(']', "']'");
      }
      this.expect('=', "'='");
      const value = this.value();
      this.expect(';', "';'");
      this.assign(name, path, value);
    }
  }

  private assign(name: string, path: (string | number | undefined)[], value: Built): void {
    if (path.length === 0) {
      this.vars.set(name, value);
      return;
    }
    let target = this.vars.get(name);
    if (!(target instanceof PhpMap)) this.vars.set(name, (target = new PhpMap()));
    for (const k of path.slice(0, -1)) {
      const key = k ?? target.nextIndex;
      let child = target.entries.get(String(key));
      if (!(child instanceof PhpMap)) target.set(key, (child = new PhpMap()));
      target = child;
    }
    const last = path[path.length - 1];
    target.set(last ?? target.nextIndex, value);
  }

  private value(): Built {
    const t = this.tok;
    if (t.kind === 'str') return this.take().value;
    if (t.kind === 'num') return this.take().value;
    if (this.isPunct('-') || this.isPunct('+')) {
      this.take();
      if (this.tok.kind !== 'num') this.expected('a number');
      const n = this.take().value as number;
      return t.text === '-' ? -n : n;
    }
    if (this.isPunct('[')) {
      this.take();
      return this.elements(']');
    }
    if (t.kind === 'name') {
      const word = t.text.toLowerCase();
      if (word === 'true' || word === 'false' || word === 'null') {
        this.take();
        return word === 'null' ? null : word === 'true';
      }
      if (word === 'array') {
        this.take();
        this.expect('(', "'(' after 'array'");
        return this.elements(')');
      }
    }
    return this.expected('a value (string, number, true, false, null or array)');
  }

  /** The elements of an array literal up to `close`, trailing comma allowed. */
  private elements(close: string): PhpMap {
    const map = new PhpMap();
    while (!this.isPunct(close)) {
      const first = this.value();
      if (this.isPunct('=>')) {
        this.take();
        map.set(this.key(first), this.value());
      } else {
        map.set(map.nextIndex, first);
      }
      if (!this.isPunct(',')) break;
      this.take();
    }
    this.expect(close, `',' or '${close}'`);
    return map;
  }

  /** PHP's array-key casting: decimal-integer strings, bools and floats become ints, null becomes "". */
  private key(v: Built): string | number {
    if (v instanceof PhpMap) return this.lex.fail(this.tok.line, 'an array cannot be used as an array key');
    if (typeof v === 'number') return Math.trunc(v);
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (v === null) return '';
    // Up to 15 digits, so the integer is exact in a double; longer ones stay strings (only nextIndex differs).
    return /^(?:0|-?[1-9]\d{0,14})$/.test(v) ? Number(v) : v;
  }
}

/** Lists (keys 0..n-1 in order) become arrays, other arrays objects (JS orders integer keys first). */
function toJs(v: Built): PhpValue {
  if (!(v instanceof PhpMap)) return v;
  const keys = [...v.entries.keys()];
  if (keys.every((k, i) => k === String(i))) return [...v.entries.values()].map(toJs);
  return toObject(v);
}

function toObject(map: PhpMap): PhpArray {
  const out: PhpArray = {};
  for (const [k, item] of map.entries) setOwn(out, k, toJs(item));
  return out;
}

/**
 * Parses the text of a `config-itop.php`. `$MySettings` must be present; `$MyModuleSettings` and
 * `$MyModules` default to empty. Module sections that are not arrays are dropped.
 * @throws ConfigError `<file>: line <n>: <what was expected>` on a syntax error.
 */
export function parsePhpConfig(text: string, file: string): ParsedPhpConfig {
  const parser = new Parser(new Lexer(text, file));
  parser.statements();
  const settings = parser.vars.get('$MySettings');
  if (!(settings instanceof PhpMap)) {
    throw new ConfigError(`${file}: ${settings === undefined ? 'no $MySettings array found' : '$MySettings is not an array'}`);
  }
  const moduleSettings: Record<string, PhpArray> = {};
  const modSrc = parser.vars.get('$MyModuleSettings');
  if (modSrc instanceof PhpMap) {
    for (const [name, section] of modSrc.entries) {
      if (section instanceof PhpMap) setOwn(moduleSettings, name, toObject(section));
    }
  }
  const modules = parser.vars.get('$MyModules');
  return {
    settings: toObject(settings),
    moduleSettings,
    modules: modules instanceof PhpMap ? toObject(modules) : {},
  };
}
