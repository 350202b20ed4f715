/**
 * Characters that must never reach a log line or a terminal as they are: the C0 and C1 controls
 * and DEL (they end lines, move the cursor, colour text), the line and paragraph separators (some
 * viewers end lines there), and the bidirectional formatting controls U+061C, U+200E, U+200F,
 * U+202A-U+202E and U+2066-U+2069 (they reorder the text shown around them).
 */
const CONTROL_CLASS = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069';

/** The JSON Schema pattern of text free of them: names and labels. */
export const PRINTABLE_PATTERN = `^[^${CONTROL_CLASS}]*$`;

/** How a refusal by PRINTABLE_PATTERN reads, instead of the pattern itself. */
export const PRINTABLE_RULE = 'must not contain control characters (C0, C1) or bidirectional formatting characters';

const CONTROL = new RegExp(`[${CONTROL_CLASS}]`, 'g');
const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The text with each such character written as a visible escape (`\n`, `\u202e`): it can neither forge a line nor reorder one. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (char) => SHORT_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
