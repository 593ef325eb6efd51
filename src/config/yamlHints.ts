/**
 * YAML syntax errors in plain words, at the line of the mistake. The YAML library reports what confused its
 * parser, often on the line before the mistake and in its own terms ("Nested mappings are not allowed in compact
 * mappings"); the usual mistakes in a hand-written config are a line indented wrongly, a tab, a key without its
 * colon, and a bracket or quote left open. When the library finds an error, this module looks for one of those
 * mistakes at or before that place and, when it finds one, says that instead.
 */
import type { InputProblem } from '../model';
import type { LineIndex } from './tree';

interface Line { no: number; offset: number; text: string; indent: number; content: number; items: number[] }

const KEY = /^(?:"[^"]*"|'[^']*'|[^\s#{}[\],'"&*!|>%@`][^#{}[\],]*?)\s*:(?:\s|$)/;

function indentOf(text: string): number { return text.length - text.trimStart().length; }

function split(text: string): Line[] {
  const out: Line[] = [];
  let offset = 0;
  text.split('\n').forEach((raw, no) => {
    const t = raw.replace(/\r$/, '');
    const indent = indentOf(t);
    let content = indent;
    const items: number[] = [];
    while (t.startsWith('- ', content) || t.slice(content) === '-') { items.push(content); content += 2; while (t[content] === ' ') content++; }
    out.push({ no, offset, text: t, indent, content, items });
    offset += raw.length + 1;
  });
  return out;
}

const isBlank = (l: Line) => l.text.trim() === '' || l.text.trimStart().startsWith('#') || l.text.trim() === '---';

/** Brackets and quotes of one line outside strings and comments: the net depth and where an unclosed one opened. */
function scan(text: string, from: number): { depth: number; openAt: number[]; quoteAt?: number; quote?: string } {
  const openAt: number[] = [];
  let closedBefore = 0;               // closings of brackets opened on earlier lines
  let quote: string | undefined; let quoteAt: number | undefined;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote && !(quote === '"' && text[i - 1] === '\\')) quote = undefined;
      continue;
    }
    if ((c === '"' || c === "'") && (i === from || /[\s{[,:]/.test(text[i - 1]))) { quote = c; quoteAt = i; }
    else if (c === '#' && (i === 0 || text[i - 1] === ' ')) break;
    else if (c === '{' || c === '[') openAt.push(i);
    else if (c === '}' || c === ']') { if (openAt.length) openAt.pop(); else closedBefore++; }
  }
  return { depth: openAt.length - closedBefore, openAt, quote, quoteAt: quote ? quoteAt : undefined };
}

const at = (lines: LineIndex, l: Line, col: number, len = 1, message = ''): InputProblem =>
  ({ severity: 'error', message, span: lines.span(l.offset + col, l.offset + col + len) });

/** The first common mistake in the text, in plain words, or undefined when none is recognised. */
export function plainYamlMistake(text: string, index: LineIndex): InputProblem | undefined {
  const all = split(text);
  // Open block columns, innermost last: map key columns and sequence item columns.
  let open: number[] = [0];
  let prev: Line | undefined;
  let opensBlock = false;           // prev is "key:" (or "-") with its value on the following lines
  let blockScalar = -1;             // indentation of the key whose "|" / ">" scalar we are inside
  for (let k = 0; k < all.length; k++) {
    const l = all[k];
    if (isBlank(l)) continue;
    if (blockScalar >= 0) { if (l.indent > blockScalar) continue; blockScalar = -1; }
    const tab = /^[ ]*\t/.exec(l.text);
    if (tab) return at(index, l, tab[0].length - 1, 1, `line ${l.no + 1} is indented with a tab: YAML indents with spaces only`);
    const rest = l.text.slice(l.content);
    const name = (KEY.exec(rest)?.[0] ?? rest).replace(/:\s*$/, '').trim().slice(0, 40);
    if (prev) {
      const deeperOk = opensBlock && l.indent > prev.content;
      const seqAtKey = opensBlock && l.indent === prev.content && l.items.length > 0;
      if (deeperOk || seqAtKey) open = [...open.filter(c => c <= prev!.content), l.indent];
      else if (open.includes(l.indent)) open = open.filter(c => c <= l.indent);
      else {
        const top = Math.max(...open);
        if (l.indent > top) {
          return at(index, l, l.indent, Math.max(1, name.length),
            `line ${l.no + 1} is indented ${l.indent} spaces, deeper than line ${prev.no + 1} (${top} spaces), which already has its value: ` +
            `indent "${name}" like the keys beside it, or give line ${prev.no + 1} no value to nest under it`);
        }
        const cols = [...new Set(open)].sort((a, b) => a - b);
        const list = cols.length > 1 ? `${cols.slice(0, -1).join(', ')} or ${cols[cols.length - 1]}` : String(cols[0]);
        return at(index, l, l.indent, Math.max(1, name.length),
          `line ${l.no + 1} is indented ${l.indent} spaces, which lines up with no key above it (those are indented ${list} spaces): ` +
          `indent "${name}" like the keys of its section`);
      }
    }
    // The line's own structure: "- " items open sequences, the content column is a map's keys column.
    open = [...open.filter(c => c < l.indent), ...l.items, l.content];
    const key = KEY.exec(rest);
    if (!key && !rest.startsWith('-') && /^[A-Za-z_][\w.]*\s+[^\s:#][^:#]*$/.test(rest.trim()) && prev && KEY.test(prev.text.slice(prev.content)) && prev.content === l.content) {
      const word = /^[A-Za-z_][\w.]*/.exec(rest)![0];
      return at(index, l, l.content, word.length, `"${rest.trim().slice(0, 40)}" on line ${l.no + 1} has no colon after the key: write "${word}: ${rest.trim().slice(word.length).trim().slice(0, 30)}"`);
    }
    const value = key ? rest.slice(key[0].length) : l.items.length ? rest : '';
    const s = scan(l.text, l.content + (key ? key[0].length : 0));
    if (s.quote !== undefined && s.quoteAt !== undefined) {
      return at(index, l, s.quoteAt, 1, `the ${s.quote === '"' ? 'double' : 'single'} quote opened on line ${l.no + 1} is not closed on that line`);
    }
    if (s.depth > 0) {
      // A flow collection may span lines, but then the lines inside it are indented deeper than this one.
      let depth = s.depth; let j = k + 1;
      for (; j < all.length && depth > 0; j++) {
        if (isBlank(all[j])) continue;
        if (all[j].indent <= l.indent && !/^[\]}]/.test(all[j].text.trimStart())) break;
        depth += scan(all[j].text, all[j].indent).depth;
      }
      if (depth > 0) {
        const col = s.openAt[0];
        const open = l.text[col]; const close = open === '{' ? '}' : ']';
        return at(index, l, col, 1, `the "${open}" opened on line ${l.no + 1} is never closed: end it with "${close}"`);
      }
      k = j - 1; prev = l; opensBlock = false; continue;
    }
    opensBlock = (key !== null && value.replace(/#.*$/, '').trim() === '') || (l.items.length > 0 && rest.trim() === '');
    if (key && /^[|>][-+0-9]*\s*(#.*)?$/.test(value.trim())) blockScalar = l.indent;
    prev = l;
  }
  return undefined;
}

/** The library's own words, made plainer where they are known. */
export function plainYamlMessage(m: string): string {
  const first = m.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  if (/Nested mappings are not allowed in compact mappings|Implicit keys need to be on a single line/.test(first)) {
    return 'this line breaks the structure: check its indentation and the ": " after each key';
  }
  if (/All mapping items must start at the same column/.test(first)) return 'the keys of one section must start at the same column';
  if (/Missing closing "?quote/.test(first)) return 'a quote is not closed';
  return first.slice(0, 300);
}
