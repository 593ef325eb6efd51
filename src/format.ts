/** Compact number formatting shared by the CLI table, hovers, CodeLens and the webviews. */
export function formatNumber(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined) return '–';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(digits - 1).replace('e+', 'e');
  return Number(x.toPrecision(digits)).toString();
}

/**
 * Control characters that must not reach a terminal from user text (layer, tag and file names): C0 but tab and
 * newline, DEL, C1 (0x9b is CSI on some terminals), the bidi overrides and isolates that reorder what is
 * shown, and the Unicode line separators.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text safe to print: each unsafe character becomes its \uXXXX escape, visible and inert. The escape is also
 * valid inside a JSON string, so a JSON document stays the same data.
 */
export function safeText(s: string): string {
  return s.replace(UNSAFE, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What safeName escapes: UNSAFE plus tab and newline, which safeText keeps in free text but a name must not hold. */
const NAME_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * A user-supplied name (a file, folder or run name; a path) as it enters a message or a location: one line,
 * nothing hidden. A newline or carriage return in it would split the message, so a crafted name could print a
 * line that looks like another finding; they become \n and \r, a tab \t, and every other character safeText
 * escapes (C0, DEL, C1, bidi overrides and isolates, line separators) its \uXXXX escape. The one helper for
 * names in messages: the CLI, the Problems panel and the reports all read the same text.
 */
export function safeName(name: string): string {
  return name.replace(NAME_UNSAFE, c => c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A file name where it starts a `file:line:col` location (or a `file: ...` line): safeName. */
export const locationName = safeName;

/**
 * How a layer is named to the user everywhere (Problems, hovers, CodeLens, CLI, reports): its name, then its
 * position counted from 0 in config order, as in the table's # column and `compare --layer <index>`.
 */
export function layerLabel(layer: { name: string; index: number }): string {
  return `${layer.name} (#${layer.index})`;
}
