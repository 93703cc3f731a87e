/**
 * iTop's `MetaModel::ApplyParams`: every `$name->X$` placeholder of an
 * object parameter (also written `$name-&gt;X$`, and `%24name->X%24` inside URL attributes), and every
 * `$name$` of a scalar parameter, found in the *original* text, becomes a (search, replacement) pair;
 * the pairs are then applied one after the other, in parameter order, like PHP's
 * `str_replace(array, array)`. Values are inserted raw (no escaping); a placeholder iTop cannot resolve is
 * left as written.
 */
import type { ItopObject } from './objectArgs.js';
import { getForTemplate, TemplateError, type RenderEnv } from './templates.js';

/** One template parameter, in iTop's order: this, trigger, action, current_contact_id, current_user, ... */
export type TemplateParam =
  | { readonly name: string; readonly object: ItopObject | undefined }
  | { readonly name: string; readonly value: string };

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function objectPairs(env: RenderEnv, input: string, name: string, obj: ItopObject): Promise<Array<[string, string]>> {
  const n = escapeRe(name);
  const patterns = [new RegExp(`\\$${n}-(>|&gt;)([^$]+)\\$`, 'g'), new RegExp(`%24${n}-(>|&gt;)([^$]+?)%24`, 'g')];
  const pairs: Array<[string, string]> = [];
  for (const re of patterns) {
    for (const m of input.matchAll(re)) {
      try {
        pairs.push([m[0], await getForTemplate(env, obj, m[2] ?? '')]);
      } catch (e) {
        // iTop catches and leaves the placeholder; anything but a TemplateError is a real failure.
        if (!(e instanceof TemplateError)) throw e;
      }
    }
  }
  return pairs;
}

function scalarPairs(input: string, name: string, value: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const search of [`$${name}$`, `%24${name}%24`]) if (input.includes(search)) pairs.push([search, value]);
  return pairs;
}

/** Renders `input` with the parameters (ApplyParams). */
export async function applyParams(env: RenderEnv, input: string, params: readonly TemplateParam[]): Promise<string> {
  if (!input.includes('$') && !input.includes('%24')) return input;
  const pairs: Array<[string, string]> = [];
  for (const p of params) {
    if ('value' in p) pairs.push(...scalarPairs(input, p.name, p.value));
    else if (p.object !== undefined) pairs.push(...(await objectPairs(env, input, p.name, p.object)));
  }
  let out = input;
  for (const [search, replacement] of pairs) out = out.split(search).join(replacement);
  return out;
}
