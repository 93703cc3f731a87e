/**
 * import() for modules outside the command line's bundle (extensions' task modules). The bundle runs as
 * a vm.Script (src/boot/codeCache.ts), in which V8 has no host to resolve an import() from a function it
 * took from the code cache; the loader, an ES module, lends its own import() instead.
 */
const LOADER_IMPORT = Symbol.for('itop-cron.import');

type Importer = (url: string) => Promise<unknown>;

/** Called by the loader before the bundle runs. */
export function lendImport(importer: Importer): void {
  (globalThis as Record<symbol, Importer>)[LOADER_IMPORT] = importer;
}

/** import(url), through the loader's import() when running from the bundle. */
export function importModule(url: string): Promise<unknown> {
  const lent = (globalThis as Record<symbol, Importer | undefined>)[LOADER_IMPORT];
  return lent !== undefined ? lent(url) : import(url);
}
