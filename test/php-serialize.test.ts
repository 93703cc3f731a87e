import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  isPhpArray,
  phpArray,
  phpDouble,
  phpSerialize,
  phpUnserialize,
  type PhpSerialValue,
} from '../src/mail/phpSerialize.js';
import { NO_REFERENCE, referenceDir } from './helpers/reference.js';

test('scalars unserialize to JavaScript values', () => {
  assert.equal(phpUnserialize('N;'), null);
  assert.equal(phpUnserialize('b:1;'), true);
  assert.equal(phpUnserialize('b:0;'), false);
  assert.equal(phpUnserialize('i:-42;'), -42);
  assert.equal(phpUnserialize('d:0.5;'), 0.5);
  assert.equal(phpUnserialize('d:1.0E+25;'), 1e25);
  assert.equal(phpUnserialize('d:-INF;'), -Infinity);
  assert.ok(Number.isNaN(phpUnserialize('d:NAN;')));
  assert.equal(phpUnserialize('s:5:"hello";'), 'hello');
  assert.equal(phpUnserialize('s:0:"";'), '');
});

test('string lengths count UTF-8 bytes, and quotes inside strings need no escaping', () => {
  assert.equal(phpUnserialize('s:7:"Élève";'), 'Élève'); // É and è are 2 bytes each
  assert.equal(phpUnserialize(Buffer.from('s:4:"😀";', 'utf8')), '😀');
  assert.equal(phpUnserialize('s:7:"a";b:"c";'), 'a";b:"c');
  assert.equal(phpSerialize('Élève'), 's:7:"Élève";');
  assert.equal(phpSerialize('😀'), 's:4:"😀";');
  // A character count instead of a byte count is refused, not misread.
  assert.throws(() => phpUnserialize('s:5:"Élève";'), /Expected '"' at offset 10/);
});

test('arrays keep key order and key types', () => {
  const v = phpUnserialize('a:3:{s:1:"b";i:1;i:0;s:1:"x";s:1:"a";a:0:{}}');
  assert.ok(isPhpArray(v));
  assert.deepEqual([...v.keys()], ['b', 0, 'a']);
  assert.equal(v.get(0), 'x');
  const inner = v.get('a');
  assert.ok(isPhpArray(inner) && inner.size === 0);
});

test('serialize writes what PHP writes', () => {
  const v = phpArray([
    ['from', phpArray([['address', 'itop@example.com'], ['label', 'iTop']])],
    [0, true],
    [1, null],
    ['n', -3],
    ['f', 0.1],
  ]);
  assert.equal(
    phpSerialize(v),
    'a:5:{s:4:"from";a:2:{s:7:"address";s:16:"itop@example.com";s:5:"label";s:4:"iTop";}i:0;b:1;i:1;N;s:1:"n";i:-3;s:1:"f";d:0.1;}',
  );
});

test('floats use PHP notation', () => {
  const cases: Array<[number, string]> = [
    [0.1, '0.1'],
    [1.5, '1.5'],
    [-2.25, '-2.25'],
    [1e25, '1.0E+25'],
    [1.5e300, '1.5E+300'],
    [0.0001, '0.0001'],
    [0.00001, '1.0E-5'],
    [123456.789, '123456.789'],
    [Infinity, 'INF'],
  ];
  for (const [n, text] of cases) {
    assert.equal(phpDouble(n), text, String(n));
    assert.equal(phpUnserialize(`d:${text};`), n);
  }
});

test('round trip of nested data', () => {
  const samples = [
    'a:2:{i:0;a:1:{s:4:"k\u00e9y";s:3:"v;}";}i:5;d:-0.5;}',
    'a:1:{s:4:"data";s:8:"aGVsbG8=";}',
    'a:0:{}',
  ];
  for (const s of samples) assert.equal(phpSerialize(phpUnserialize(s)), s);
});

test('objects and references are refused with the type and the offset', () => {
  assert.throws(() => phpUnserialize('O:8:"stdClass":0:{}'), { message: 'Unsupported PHP serialized type O at offset 0' });
  assert.throws(() => phpUnserialize('a:1:{i:0;C:3:"Foo":0:{}}'), { message: 'Unsupported PHP serialized type C at offset 9' });
  assert.throws(() => phpUnserialize('a:2:{i:0;i:1;i:1;R:2;}'), { message: 'Unsupported PHP serialized type R at offset 17' });
});

test('truncated and corrupt input throws with an offset', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /end of PHP serialized data at offset 0/],
    ['s:10:"abc";', /runs past the end of the data at offset 6/],
    ['a:2:{i:0;i:1;', /Unexpected end .* at offset 13/],
    ['i:12', /Unterminated token, expected ';' at offset 2/],
    ['i:1x;', /Invalid integer at offset 2/],
    ['b:2;', /Invalid boolean at offset 2/],
    ['a:1:{a:0:{}i:1;}', /Invalid array key type at offset 5/],
    ['i:1;i:2;', /Trailing data after the serialized value at offset 4/],
    ['x', /Invalid PHP serialized type byte 0x78 at offset 0/],
    ['i:99999999999999999999;', /Integer out of range at offset 2/],
  ];
  for (const [input, re] of bad) assert.throws(() => phpUnserialize(input), re, JSON.stringify(input));
  assert.throws(() => phpUnserialize(Buffer.from([0x73, 0x3a, 0x31, 0x3a, 0x22, 0xff, 0x22, 0x3b])), /Invalid UTF-8 in string at offset 5/);
});

test('deep nesting is refused instead of exhausting the stack', () => {
  const deep = 'a:1:{i:0;'.repeat(100_000) + 'N;' + '}'.repeat(100_000);
  assert.throws(() => phpUnserialize(deep), /nested too deeply/);
});

test('fuzz: random and mutated buffers either parse or throw an Error, never hang or crash', () => {
  const seed = 'a:3:{s:4:"from";a:2:{s:7:"address";s:1:"a";s:5:"label";s:0:"";}i:7;d:0.5;s:1:"b";b:1;}';
  let parsed = 0;
  let refused = 0;
  const check = (buf: Buffer): void => {
    let v: PhpSerialValue | undefined;
    try {
      v = phpUnserialize(buf);
    } catch (e) {
      assert.ok(e instanceof Error && / at offset \d+$/.test(e.message), String(e));
      refused++;
      return;
    }
    parsed++;
    // Whatever parses must serialize back to something that parses to the same thing.
    assert.deepEqual(phpUnserialize(phpSerialize(v)), v);
  };
  for (let i = 0; i < 2000; i++) check(randomBytes(1 + (i % 64)));
  const alphabet = Buffer.from('aisdbN:;{}"0123456789-.E');
  for (let i = 0; i < 3000; i++) {
    const buf = Buffer.from(seed);
    const flips = 1 + (i % 3);
    for (let f = 0; f < flips; f++) {
      const at = randomBytes(2).readUInt16LE() % buf.length;
      buf[at] = alphabet[randomBytes(1)[0]! % alphabet.length]!;
    }
    check(buf.subarray(0, buf.length - (i % 5)));
  }
  assert.equal(parsed + refused, 5000);
  assert.ok(refused > 0);
});

test('the real queued message of a notification round-trips byte for byte', (t) => {
  const dir = referenceDir();
  if (!dir) return t.skip(NO_REFERENCE);
  // The capture ends with a newline that is not part of the column value.
  const file = readFileSync(join(dir, 'notifications', 'run2-async.queued-message.serialized'));
  const raw = file.subarray(0, file.length - 1);
  assert.throws(() => phpUnserialize(file), /Trailing data after the serialized value at offset 15908/);
  const v = phpUnserialize(raw);
  assert.ok(isPhpArray(v));
  assert.deepEqual([...v.keys()], ['from', 'subject', 'body', 'to', 'cc', 'bcc', 'reply_to', 'headers', 'message_id']);
  const body = v.get('body');
  assert.ok(isPhpArray(body));
  assert.equal(Buffer.byteLength(body.get('body') as string), 15207);
  assert.equal(phpSerialize(v), raw.toString('utf8'));
});
