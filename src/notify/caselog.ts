/**
 * iTop case logs (`public_log`, `private_log`): the column holds the entries newest first, each behind a
 * `\n========== <date> : <user> (<user_id>) ============\n\n` separator; the `<code>_index` column is a PHP
 * array describing them oldest first (user_name, user_id, date as unix time, text_length and
 * separator_length in bytes, format). Rendered as iTop renders it.
 */
import { isPhpArray, phpUnserialize, type PhpSerialValue } from '../mail/phpSerialize.js';
import type { Clock } from '../time/clock.js';
import { escapeHtml } from './html.js';
import { htmlToText } from './htmlText.js';

export interface CaseLogEntry {
  readonly userName: string;
  readonly userId: string;
  /** iTop-local 'Y-m-d H:i:s'. */
  readonly date: string;
  readonly text: string;
  readonly format: 'html' | 'text';
}

function field(entry: PhpSerialValue | undefined, name: string): string {
  if (entry === undefined || !isPhpArray(entry)) return '';
  const v = entry.get(name);
  return v === null || v === undefined ? '' : String(v);
}

/** The entries, oldest first; a log without a readable index is one entry of text. */
export function parseCaseLog(column: unknown, index: unknown, clock: Clock): CaseLogEntry[] {
  const text = Buffer.from(typeof column === 'string' ? column : Buffer.isBuffer(column) ? column.toString('utf8') : '', 'utf8');
  if (text.length === 0) return [];
  let items: PhpSerialValue[] = [];
  try {
    const parsed = phpUnserialize(Buffer.isBuffer(index) ? index : String(index ?? ''));
    if (isPhpArray(parsed)) items = [...parsed.values()];
  } catch {
    items = [];
  }
  if (items.length === 0) return [{ userName: '', userId: '', date: '', text: text.toString('utf8'), format: 'text' }];
  const entries: CaseLogEntry[] = [];
  let offset = 0;
  // The text holds the newest entry first: walk the index backwards.
  for (const item of [...items].reverse()) {
    const sep = Number(field(item, 'separator_length')) || 0;
    const len = Number(field(item, 'text_length')) || 0;
    const body = text.subarray(offset + sep, offset + sep + len).toString('utf8');
    offset += sep + len;
    const unix = Number(field(item, 'date'));
    entries.unshift({
      userName: field(item, 'user_name'),
      userId: field(item, 'user_id'),
      date: Number.isFinite(unix) && unix > 0 ? clock.format(unix * 1000) : field(item, 'date'),
      text: body,
      format: field(item, 'format') === 'html' ? 'html' : 'text',
    });
  }
  return entries;
}

function entryText(e: CaseLogEntry): string {
  return e.format === 'html' ? htmlToText(e.text) : e.text;
}

function entryHtml(e: CaseLogEntry): string {
  return e.format === 'html' ? e.text : escapeHtml(e.text).replace(/\n/g, '<br>\n');
}

/** `$this->log$`: every entry as text, oldest first, each after its separator line. */
export function caseLogText(entries: readonly CaseLogEntry[]): string {
  return entries
    .map((e) => `\n========== ${e.date} : ${e.userName} (${e.userId}) ============\n\n${entryText(e)}`)
    .join('');
}

/** `$this->head(log)$` / `$this->head_html(log)$`: the latest entry. */
export function caseLogHead(entries: readonly CaseLogEntry[], html: boolean): string {
  const last = entries[entries.length - 1];
  if (last === undefined) return '';
  return html ? entryHtml(last) : entryText(last);
}

/** `$this->html(log)$`: iTop's e-mail table of the entries, newest first. */
export function caseLogEmailHtml(entries: readonly CaseLogEntry[]): string {
  if (entries.length === 0) return '';
  const rows = [...entries]
    .reverse()
    .map(
      (e) =>
        `<div class="caselog_header"><span class="caselog_header_date">${escapeHtml(e.date)}</span> - ` +
        `<span class="caselog_header_user">${escapeHtml(e.userName)}</span>:</div>` +
        `<div class="caselog_entry${e.format === 'html' ? '_html' : ''}" style="">${entryHtml(e)}</div>`,
    )
    .join('');
  return `<table style="width:100%;table-layout:fixed"><tr><td>${rows}</td></tr></table>`;
}
