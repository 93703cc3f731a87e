/**
 * HTML character references as libxml2's HTML parser decodes them: numeric references, and the HTML 4
 * named entities (the Latin-1 set plus the common symbols). An unknown name stays as written.
 */

/** The Latin-1 entities, U+00A0 to U+00FF in order. */
const LATIN1 = (
  'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute ' +
  'micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig ' +
  'Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash ' +
  'Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc ' +
  'euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml ' +
  'yacute thorn yuml'
).split(' ');

const NAMED = new Map<string, number>([
  ['quot', 34], ['amp', 38], ['apos', 39], ['lt', 60], ['gt', 62], ['OElig', 338], ['oelig', 339], ['Scaron', 352],
  ['scaron', 353], ['Yuml', 376], ['fnof', 402], ['circ', 710], ['tilde', 732], ['ensp', 8194], ['emsp', 8195],
  ['thinsp', 8201], ['zwnj', 8204], ['zwj', 8205], ['lrm', 8206], ['rlm', 8207], ['ndash', 8211], ['mdash', 8212],
  ['lsquo', 8216], ['rsquo', 8217], ['sbquo', 8218], ['ldquo', 8220], ['rdquo', 8221], ['bdquo', 8222],
  ['dagger', 8224], ['Dagger', 8225], ['bull', 8226], ['hellip', 8230], ['permil', 8240], ['prime', 8242],
  ['Prime', 8243], ['lsaquo', 8249], ['rsaquo', 8250], ['oline', 8254], ['frasl', 8260], ['euro', 8364],
  ['trade', 8482], ['larr', 8592], ['uarr', 8593], ['rarr', 8594], ['darr', 8595], ['harr', 8596], ['minus', 8722],
  ['le', 8804], ['ge', 8805], ['ne', 8800], ['infin', 8734], ['hearts', 9829],
  ...LATIN1.map((name, i): [string, number] => [name, 0xa0 + i]),
]);

function fromCodePoint(cp: number, original: string): string {
  if (!Number.isInteger(cp) || cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return original;
  return String.fromCodePoint(cp);
}

/** Decodes the character references of a text or attribute value. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?/g, (m, ref: string) => {
    if (ref.startsWith('#x') || ref.startsWith('#X')) return fromCodePoint(Number.parseInt(ref.slice(2), 16), m);
    if (ref.startsWith('#')) return fromCodePoint(Number.parseInt(ref.slice(1), 10), m);
    const cp = NAMED.get(ref);
    return cp === undefined || !m.endsWith(';') ? m : String.fromCodePoint(cp);
  });
}
