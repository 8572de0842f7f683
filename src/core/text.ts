// Text that came from outside (a peer's request, a linked site's announcement) on its way into a log,
// an event or a terminal: control characters removed, so it cannot move the cursor, recolour the
// terminal or hide a line, and length capped, so it cannot fill the log.

// C0 controls, DEL, C1 controls (a lone ESC-less CSI: \u009b), and the bidirectional overrides and
// isolates that reorder what the reader sees.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** One line: control characters (newlines and tabs included) become a space; at most `max` characters. */
export function printable(text: string, max = Infinity): string {
  const clean = String(text).replace(CONTROL, ' ');
  return clean.length > max ? `${clean.slice(0, Math.max(0, max - 1))}…` : clean;
}

/** Several lines: like printable, but newlines are kept. */
export function printableLines(text: string): string {
  return String(text).replace(/\r\n/g, '\n').replace(CONTROL_BUT_NEWLINE, ' ');
}

/**
 * JSON text with the characters JSON.stringify leaves raw (DEL, C1 controls, bidi controls) written as
 * \\u escapes: the same data, safe to print.
 */
export function asciiSafeJson(json: string): string {
  return json.replace(
    /[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * A name a peer gives for itself, made a DNS label (what site names are): lower case letters, digits
 * and dashes, at most 63; undefined when nothing is left.
 */
export function dnsLabelOf(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const label = text
    .slice(0, 253)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label || undefined;
}
