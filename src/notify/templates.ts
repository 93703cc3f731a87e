/**
 * iTop's `DBObject::GetForTemplate(X)` and `AttributeDefinition::GetForTemplate(value, verb)`: the value a placeholder `$this->X$` is replaced with. A throw
 * (TemplateError) means "no replacement": the placeholder stays in the text, as in iTop.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../time/clock.js';
import { caseLogEmailHtml, caseLogHead, caseLogText, parseCaseLog } from './caselog.js';
import { classDef, type ResolvedAtt } from './datamodel.js';
import { escapeHtml } from './html.js';
import { htmlToText } from './htmlText.js';
import {
  attributeOf,
  columnValue,
  friendlyName,
  linkedNames,
  phpString,
  rawValue,
  remoteObject,
  type ItopObject,
  type ObjectStore,
} from './objectArgs.js';

/** Why a placeholder is left as written. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface RenderEnv {
  readonly store: ObjectStore;
  /** `app_root_url`, with its trailing slash. */
  readonly appUrl: string;
  readonly clock: Clock;
  /** `max_linkset_output` (default 100, 0 = no limit). */
  readonly maxLinksetOutput: number;
}

const PORTALS: Readonly<Record<string, string>> = {
  portal: 'edit', 'itop-portal': 'edit', 'itop-portal-edit': 'edit', 'itop-portal-view': 'view',
};

/** The URL of an object in the console or in a portal; throws for an unknown portal id. */
export function objectUrl(env: RenderEnv, cls: string, id: number, portal = 'console'): string {
  if (portal === 'console') return `${env.appUrl}pages/UI.php?operation=details&class=${cls}&id=${id}`;
  const mode = PORTALS[portal];
  if (mode === undefined) throw new TemplateError(`unknown portal '${portal}'`);
  return (
    `${env.appUrl}pages/exec.php/object/${mode}/${cls}/${id}` +
    '?exec_module=itop-portal-base&exec_page=index.php&exec_env=production&portal_id=itop-portal'
  );
}

/**
 * iTop's object hyperlink markup. `withContext` appends the navigation context (an empty one, hence the
 * trailing `&`), as attribute renderings and the test-mode banner do.
 */
export function hyperlink(env: RenderEnv, cls: string, id: number, name: string, url: string, withContext = false): string {
  const def = classDef(cls);
  const summary = def?.summaryCard
    ? ` data-tooltip-content="${env.appUrl}pages/UI.php?route=object.summary&amp;obj_class=${cls}&amp;obj_key=${id}"` +
      ' data-tooltip-interaction-enabled="true" data-tooltip-is-async="true" data-tooltip-html-enabled="true"' +
      ' data-tooltip-sanitizer-skipped="false" data-tooltip-show-delay="800" data-tooltip-hide-delay="500"' +
      ' data-tooltip-max-width="600px" data-tooltip-theme="object-summary" data-tooltip-append-to="body"'
    : '';
  const href = escapeHtml(url + (withContext ? '&' : ''));
  return (
    `<span class="object-ref "${summary} title="${escapeHtml(def?.label ?? cls)}::${id}">` +
    `<a class="object-ref-link" href="${href}">${escapeHtml(name)}</a></span>`
  );
}

async function objectHyperlink(env: RenderEnv, obj: ItopObject, portal: string, withContext = false): Promise<string> {
  const url = objectUrl(env, obj.cls, obj.id, portal);
  return hyperlink(env, obj.cls, obj.id, await friendlyName(env.store, obj), url, withContext);
}

function unknownVerb(verb: string, att: ResolvedAtt): never {
  throw new TemplateError(`unknown verb '${verb}' for attribute '${att.code}'`);
}

/** Scalars (strings, numbers, e-mails...): raw, `html` escaped, `label` and `text` raw. */
function scalar(value: string, verb: string, att: ResolvedAtt, multiline = false): string {
  if (verb === '' || verb === 'label' || verb === 'text') return value;
  if (verb === 'html') return multiline ? escapeHtml(value).replace(/\n/g, '<br>\n') : escapeHtml(value);
  return unknownVerb(verb, att);
}

function enumValue(obj: ItopObject, att: ResolvedAtt, value: string, verb: string): string {
  const label = att.def.labels?.[value] ?? value;
  if (verb === '') return value;
  if (verb === 'label' || verb === 'text') return value === '' ? '' : label;
  if (verb !== 'html') return unknownVerb(verb, att);
  if (!att.def.badge || value === '') return escapeHtml(label);
  // iTop's field badge; the id is random in iTop too (uniqid).
  const uid = randomBytes(7).toString('hex').slice(0, 13) + String(Math.floor(Math.random() * 1e9)).padStart(9, '0');
  return (
    `<div id="ibo-field-badge-${uid}" class="ibo-field-badge ibo-content-block ibo-block ` +
    `ibo-dm-enum--${obj.cls}-${att.code}-${value} ibo-field-badge "><span class="ibo-field-badge--label">` +
    `${escapeHtml(label)}</span></div>`
  );
}

function dateValue(value: string, verb: string, att: ResolvedAtt): string {
  if (verb === 'raw' || verb === '' || verb === 'text' || verb === 'label') return value;
  if (verb === 'html') return escapeHtml(value);
  return unknownVerb(verb, att);
}

async function stopwatchItem(env: RenderEnv, obj: ItopObject, att: ResolvedAtt, verb: string): Promise<string> {
  const column = `${att.def.stopwatch}_${att.def.threshold}_${att.def.item}`;
  const stored = columnValue(obj, column, att.table);
  if (att.def.item === 'deadline') {
    const local = phpString(stored);
    if (verb === 'html') return escapeHtml(local);
    // The deadline sub-item's value is a unix timestamp (observed: 1795477444).
    return local === '' ? '' : String(Math.floor(env.clock.parse(local) / 1000));
  }
  if (att.def.item === 'passed' || att.def.item === 'triggered') return Number(stored ?? 0) ? '1' : '';
  return scalar(phpString(stored), verb, att);
}

/** `AttributeDefinition::GetForTemplate` for the attribute `att` of `obj`. */
async function attributeForTemplate(env: RenderEnv, obj: ItopObject, att: ResolvedAtt, verb: string): Promise<string> {
  const value = phpString(rawValue(obj, att));
  switch (att.def.type) {
    case 'enum':
      return enumValue(obj, att, value, verb);
    case 'html':
      if (verb === 'html') return `<div class="HTML ibo-is-html-content">${value}</div>`;
      if (verb === 'text') return htmlToText(value);
      return scalar(value, verb, att);
    case 'text':
      return scalar(value, verb, att, true);
    case 'datetime':
    case 'date':
      return dateValue(value, verb, att);
    case 'extkey': {
      if (verb !== 'html') return scalar(value === '' ? '0' : value, verb, att);
      const remote = await remoteObject(env.store, obj, att.code);
      return remote === undefined ? '' : objectHyperlink(env, remote, 'console', true);
    }
    case 'extfield': {
      const remote = await remoteObject(env.store, obj, att.def.key ?? '');
      if (remote === undefined) return verb === '' || verb === 'html' || verb === 'label' || verb === 'text' ? '' : unknownVerb(verb, att);
      return getForTemplate(env, remote, verb === '' ? att.def.remote ?? '' : `${verb}(${att.def.remote ?? ''})`);
    }
    case 'caselog': {
      const entries = parseCaseLog(rawValue(obj, att), columnValue(obj, `${att.column}_index`, att.table), env.clock);
      if (verb === '') return caseLogText(entries);
      if (verb === 'html') return caseLogEmailHtml(entries);
      if (verb === 'head' || verb === 'head_html') return caseLogHead(entries, verb === 'head_html');
      return unknownVerb(verb, att);
    }
    case 'linkset': {
      let names = await linkedNames(env.store, obj, att);
      const truncated = env.maxLinksetOutput > 0 && names.length > env.maxLinksetOutput;
      if (truncated) names = names.slice(0, env.maxLinksetOutput);
      if (verb === '') return names.join('\n') + (truncated ? '\n... Truncated results' : '');
      if (verb === 'html') return names.length === 0 ? '' : `<ul><li>${names.join('</li><li>')}</li></ul>`;
      return unknownVerb(verb, att);
    }
    case 'stopwatch':
      return scalar(phpString(columnValue(obj, `${att.code}_timespent`, att.table)), verb, att);
    case 'subitem':
      return stopwatchItem(env, obj, att, verb);
    default:
      return scalar(value, verb, att);
  }
}

/**
 * `DBObject::GetForTemplate(X)` for `obj`: `key->rest` follows an external key (`undefined` when it points
 * nowhere), `id`, `name()`, `hyperlink([portal])`, `url([portal])`, `verb(attcode)` or `attcode`.
 * Throws TemplateError when iTop would throw (unknown attribute, verb, portal or key).
 */
export async function getForTemplate(env: RenderEnv, obj: ItopObject, placeholder: string): Promise<string> {
  const traversal = /^([^-]+)-(>|&gt;)(.+)$/s.exec(placeholder);
  if (traversal) {
    const key = attributeOf(obj, traversal[1] ?? '');
    if (key?.def.type !== 'extkey') throw new TemplateError(`'${traversal[1]}' is not an external key of ${obj.cls}`);
    const remote = await remoteObject(env.store, obj, key.code);
    return remote === undefined ? 'undefined' : getForTemplate(env, remote, traversal[3] ?? '');
  }
  if (placeholder === 'id') return String(obj.id);
  if (placeholder === 'name()') return friendlyName(env.store, obj);
  const call = /^(\w+)\((.*)\)$/s.exec(placeholder);
  const verb = call?.[1] ?? '';
  const arg = call?.[2] ?? placeholder;
  if (verb === 'hyperlink') return objectHyperlink(env, obj, arg === '' ? 'console' : arg);
  if (verb === 'url') return objectUrl(env, obj.cls, obj.id, arg === '' ? 'console' : arg);
  if (arg === 'friendlyname') {
    const name = await friendlyName(env.store, obj);
    return verb === 'html' ? escapeHtml(name) : verb === '' || verb === 'label' || verb === 'text' ? name : unknownVerb(verb, { code: arg } as ResolvedAtt);
  }
  if (arg === 'id') return verb === '' || verb === 'html' || verb === 'label' || verb === 'text' ? String(obj.id) : unknownVerb(verb, { code: arg } as ResolvedAtt);
  const att = attributeOf(obj, arg);
  if (att === undefined) throw new TemplateError(`unknown attribute '${arg}' of ${obj.cls}`);
  return attributeForTemplate(env, obj, att, verb);
}
