import { randomUUID } from 'node:crypto';

/**
 * JSON text to be embedded as is in an API answer (an event payload exactly as the producer sent it).
 * `JSON.stringify` alone would re-serialise it; stringifyWithRawJson splices the text in instead.
 */
export class RawJson {
  constructor(readonly text: string) {}

  /** Plain JSON.stringify (e.g. in a log line) shows the text as a string rather than failing silently. */
  toJSON(): string {
    return this.text;
  }
}

/**
 * JSON.stringify(value), except that every RawJson in it is written as its text, byte for byte. Each RawJson is
 * first serialised as a placeholder string with a fresh random marker (it can occur nowhere else), which is then
 * replaced by the text.
 */
export function stringifyWithRawJson(value: unknown): string {
  const marker = `\u0000raw-json-${randomUUID()}-`;
  const texts: string[] = [];
  const json = JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const original = this[key];
    if (original instanceof RawJson) {
      texts.push(original.text);
      return `${marker}${texts.length - 1}`;
    }
    return v;
  });
  if (texts.length === 0) return json;
  // The marker starts with NUL, which JSON.stringify writes as \u0000.
  const quoted = JSON.stringify(marker).slice(0, -1);
  return json.split(quoted).reduce((out, part, i) => {
    if (i === 0) return part;
    const end = part.indexOf('"');
    return out + texts[Number(part.slice(0, end))] + part.slice(end + 1);
  }, '');
}
