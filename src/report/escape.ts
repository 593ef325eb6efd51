/** Text written into HTML: attributes and text, JSON and scripts inside <script>. No imports: scripts/build.mjs loads it too. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON inside a <script> element: `<` escaped, so no `</script>` or `<!--` can end or confuse it. */
export function scriptSafeJson(json: string): string {
  return json.replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * Script text inside a <script> element: the `<` of any `</script` (which would end the element) and `<!--` (which,
 * with a `<script` after it, would run the element on past its end) written `\x3C`, which reads as `<` in a string,
 * a template literal, a regular expression with or without the u or v flag, and a comment. (`<\!--` was a syntax
 * error in a /u regex.) A raw template (String.raw) would keep the escape as written: esbuild writes a raw
 * `</script` as a plain string; scripts/build.mjs refuses a webview bundle this escaping breaks.
 */
export function scriptSafeJs(js: string): string {
  // A `<` escaped already (`\<`, an odd run of backslashes before it) loses that backslash: `\x3C` is a whole escape.
  return js.replace(/(\\*)<(?=\/script|!--)/gi, (_, slashes: string) => `${slashes.slice(slashes.length % 2)}\\x3C`);
}
