/**
 * PHP `serialize()` / `unserialize()` for the subset iTop's queued e-mails use: `N;`, `b:`,
 * `i:`, `d:`, `s:<bytes>:"…";` and `a:<n>:{…}`. Objects (`O:`, `C:`), enums (`E:`) and references
 * (`r:`, `R:`) are refused: V2 messages never hold them and iTop's V1 format cannot be replayed anyway.
 *
 * Representation: a PHP array is an ordered `Map` whose keys are numbers (`i:` keys) or strings (`s:` keys),
 * so key order and key types survive a round trip. A PHP string is a JavaScript string decoded from strict
 * UTF-8 (the `s:` length counts bytes, so parsing works on a Buffer).
 */

/** A PHP array: ordered keys, integer keys as numbers, string keys as strings. */
export type PhpSerialArray = Map<string | number, PhpSerialValue>;
/** One value of the supported subset. */
export type PhpSerialValue = null | boolean | number | string | PhpSerialArray;

/** Deeper nesting than this is refused, so a hostile input cannot exhaust the stack. */
const MAX_DEPTH = 256;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** True when `v` is a PHP array. */
export function isPhpArray(v: PhpSerialValue | undefined): v is PhpSerialArray {
  return v instanceof Map;
}

/**
 * Parses PHP-serialized data. Throws an Error naming the byte offset on any truncated, corrupt or
 * unsupported input, and on trailing bytes after the value.
 */
export function phpUnserialize(input: string | Buffer): PhpSerialValue {
  const parser = new Parser(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  const value = parser.value(0);
  if (parser.pos !== parser.buf.length) parser.fail(`Trailing data after the serialized value`);
  return value;
}

class Parser {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  fail(what: string, at = this.pos): never {
    throw new Error(`${what} at offset ${at}`);
  }

  value(depth: number): PhpSerialValue {
    if (depth > MAX_DEPTH) this.fail('PHP serialized data nested too deeply');
    const start = this.pos;
    if (start >= this.buf.length) this.fail('Unexpected end of PHP serialized data');
    const type = String.fromCharCode(this.buf[start] ?? 0);
    switch (type) {
      case 'N':
        this.pos++;
        this.expect(';');
        return null;
      case 'b':
        return this.bool();
      case 'i':
        return this.int();
      case 'd':
        return this.double();
      case 's':
        return this.string();
      case 'a':
        return this.array(depth);
      default:
        if (/^[OCrREoS]$/.test(type)) this.fail(`Unsupported PHP serialized type ${type}`, start);
        return this.fail(`Invalid PHP serialized type byte 0x${(this.buf[start] ?? 0).toString(16)}`, start);
    }
  }

  expect(ch: string): void {
    if (this.pos >= this.buf.length) this.fail(`Unexpected end of PHP serialized data, expected '${ch}'`);
    if (this.buf[this.pos] !== ch.charCodeAt(0)) this.fail(`Expected '${ch}'`);
    this.pos++;
  }

  /** Reads bytes up to (not including) `end`, which must come within `max` bytes. */
  until(end: string, max: number): string {
    const stop = this.buf.indexOf(end.charCodeAt(0), this.pos);
    if (stop < 0 || stop - this.pos > max) this.fail(`Unterminated token, expected '${end}'`);
    const text = this.buf.toString('latin1', this.pos, stop);
    this.pos = stop + 1;
    return text;
  }

  bool(): boolean {
    this.pos++;
    this.expect(':');
    const at = this.pos;
    const text = this.until(';', 1);
    if (text !== '0' && text !== '1') this.fail('Invalid boolean', at);
    return text === '1';
  }

  /** An `i:` integer; PHP's are 64-bit, so values beyond 2^53 are refused rather than silently rounded. */
  integer(end: string): number {
    const at = this.pos;
    const text = this.until(end, 24);
    if (!/^[+-]?\d+$/.test(text)) this.fail('Invalid integer', at);
    const n = Number(text);
    if (!Number.isSafeInteger(n)) this.fail('Integer out of range', at);
    return n;
  }

  int(): number {
    this.pos++;
    this.expect(':');
    return this.integer(';');
  }

  double(): number {
    this.pos++;
    this.expect(':');
    const at = this.pos;
    const text = this.until(';', 64);
    if (text === 'INF') return Infinity;
    if (text === '-INF') return -Infinity;
    if (text === 'NAN') return NaN;
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) this.fail('Invalid float', at);
    return Number(text);
  }

  /** A length-prefixed string; the length counts bytes, so the UTF-8 decoding comes after slicing. */
  stringBody(): string {
    const at = this.pos;
    const len = this.integer(':');
    if (len < 0) this.fail('Negative string length', at);
    this.expect('"');
    const start = this.pos;
    if (start + len > this.buf.length) this.fail(`String of ${len} bytes runs past the end of the data`, start);
    let text: string;
    try {
      text = utf8.decode(this.buf.subarray(start, start + len));
    } catch {
      return this.fail('Invalid UTF-8 in string', start);
    }
    this.pos = start + len;
    this.expect('"');
    return text;
  }

  string(): string {
    this.pos++;
    this.expect(':');
    const text = this.stringBody();
    this.expect(';');
    return text;
  }

  array(depth: number): PhpSerialArray {
    this.pos++;
    this.expect(':');
    const at = this.pos;
    const count = this.integer(':');
    if (count < 0) this.fail('Negative array size', at);
    this.expect('{');
    const map: PhpSerialArray = new Map();
    for (let i = 0; i < count; i++) {
      const keyAt = this.pos;
      const key = this.value(depth + 1);
      if (typeof key !== 'string' && !(typeof key === 'number' && Number.isInteger(key))) {
        this.fail('Invalid array key type', keyAt);
      }
      map.set(key, this.value(depth + 1));
    }
    this.expect('}');
    return map;
  }
}

/**
 * Serializes a value exactly as PHP's `serialize()` would for the same data. Integral numbers are written
 * as `i:` (so a PHP float holding an integral value comes back as `i:`); other numbers as `d:` with PHP's
 * shortest round-trip notation.
 */
export function phpSerialize(v: PhpSerialValue): string {
  if (v === null) return 'N;';
  if (typeof v === 'boolean') return v ? 'b:1;' : 'b:0;';
  if (typeof v === 'number') {
    return Number.isSafeInteger(v) ? `i:${v};` : `d:${phpDouble(v)};`;
  }
  if (typeof v === 'string') return `s:${Buffer.byteLength(v, 'utf8')}:"${v}";`;
  let out = `a:${v.size}:{`;
  for (const [key, value] of v) {
    out += typeof key === 'number' ? `i:${key};` : phpSerialize(key);
    out += phpSerialize(value);
  }
  return `${out}}`;
}

/** PHP's `%.17H` with serialize_precision = -1: shortest digits, exponent form below 1e-4 or from 1e17 on. */
export function phpDouble(n: number): string {
  if (Number.isNaN(n)) return 'NAN';
  if (n === Infinity) return 'INF';
  if (n === -Infinity) return '-INF';
  if (Object.is(n, -0)) return '-0';
  const [mantissa = '0', exp = '0'] = Math.abs(n).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const decpt = Number(exp) + 1; // position of the decimal point after the first digit, as dtoa counts it
  const sign = n < 0 ? '-' : '';
  if (decpt < -3 || decpt > 17) {
    const frac = digits.length > 1 ? digits.slice(1) : '0';
    const e = decpt - 1;
    return `${sign}${digits[0]}.${frac}E${e < 0 ? '-' : '+'}${Math.abs(e)}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (digits.length <= decpt) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** Builds a PHP array from entries, keeping their order. */
export function phpArray(entries: Iterable<readonly [string | number, PhpSerialValue]>): PhpSerialArray {
  return new Map(entries);
}
