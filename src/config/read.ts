/**
 * Typed reads from the source tree that report at the value's span instead of throwing. Each problem also
 * records the JSON pointer it belongs to, so that the schema validator's messages for the same place are
 * not repeated.
 */
import type { InputProblem, Span } from '../model';
import { describe, type SNode } from './tree';
import { didYouMean } from './names';

export class Reporter {
  readonly problems: InputProblem[] = [];
  /** JSON pointers that already have a problem. */
  readonly claimed = new Set<string>();

  error(span: Span | undefined, message: string, pointer?: string, layer?: string): void { this.add('error', span, message, pointer, layer); }
  warn(span: Span | undefined, message: string, pointer?: string, layer?: string): void { this.add('warning', span, message, pointer, layer); }
  private add(severity: 'error' | 'warning', span: Span | undefined, message: string, pointer?: string, layer?: string): void {
    if (this.problems.length >= 200) return;
    // Names quoted from the file can be anything: keep messages readable.
    const p: InputProblem = { severity, message: message.length > 400 ? message.slice(0, 397) + '...' : message, span };
    if (layer) p.layer = layer;
    this.problems.push(p);
    if (pointer !== undefined) this.claimed.add(pointer);
  }
  get hasErrors(): boolean { return this.problems.some(p => p.severity === 'error'); }
}

export interface NumRule { int?: boolean; min?: number; max?: number; exclusiveMin?: number; exclusiveMax?: number }

/** A place being read: the node, its display name (the key as the user wrote it), its JSON pointer. */
export interface At { node: SNode; key: string; pointer: string }

export function describeRule(r: NumRule): string {
  const parts: string[] = [];
  if (r.min !== undefined) parts.push(`>= ${r.min}`);
  if (r.exclusiveMin !== undefined) parts.push(`> ${r.exclusiveMin}`);
  if (r.max !== undefined) parts.push(`<= ${r.max}`);
  if (r.exclusiveMax !== undefined) parts.push(`< ${r.exclusiveMax}`);
  if (r.min === 0 && r.exclusiveMax === 1) return 'in [0, 1)';
  if (r.exclusiveMin === 0 && r.exclusiveMax === 1) return 'in (0, 1)';
  return parts.join(' and ');
}

export function readNumber(rep: Reporter, at: At, rule: NumRule, layer?: string): number | undefined {
  const { node, key, pointer } = at;
  const what = rule.int ? 'a whole number' : 'a number';
  const bounds = describeRule(rule);
  if (node.kind !== 'scalar' || typeof node.value !== 'number') {
    // "1e-3" written in quotes, or a number-like string: say so rather than just "wrong type".
    const hint = node.kind === 'scalar' && typeof node.value === 'string' && Number.isFinite(Number(node.value)) && node.value.trim() !== '' ? ' (remove the quotes)' : '';
    rep.error(node.span, `"${key}" must be ${what}${bounds ? ' ' + bounds : ''}, got ${describe(node)}${hint}`, pointer, layer);
    return undefined;
  }
  const v = node.value;
  if (!Number.isFinite(v)) { rep.error(node.span, `"${key}" must be a finite number, got ${v}`, pointer, layer); return undefined; }
  if (rule.int && !Number.isInteger(v)) { rep.error(node.span, `"${key}" must be a whole number, got ${v}`, pointer, layer); return undefined; }
  const bad = (rule.min !== undefined && v < rule.min) || (rule.max !== undefined && v > rule.max)
    || (rule.exclusiveMin !== undefined && v <= rule.exclusiveMin) || (rule.exclusiveMax !== undefined && v >= rule.exclusiveMax);
  if (bad) {
    // Name the bound that was crossed ("must be >= 1, got 0"), or the interval for fractions.
    const low = (rule.min !== undefined && v < rule.min) || (rule.exclusiveMin !== undefined && v <= rule.exclusiveMin);
    const one = low ? describeRule({ min: rule.min, exclusiveMin: rule.exclusiveMin }) : describeRule({ max: rule.max, exclusiveMax: rule.exclusiveMax });
    const text = rule.exclusiveMax === 1 || rule.max === 1 ? bounds : one;
    rep.error(node.span, `"${key}" must be ${text}, got ${v}`, pointer, layer);
    return undefined;
  }
  return v;
}

export function readString(rep: Reporter, at: At, layer?: string): string | undefined {
  if (at.node.kind === 'scalar' && typeof at.node.value === 'string') return at.node.value;
  rep.error(at.node.span, `"${at.key}" must be a string, got ${describe(at.node)}`, at.pointer, layer);
  return undefined;
}

export function readBool(rep: Reporter, at: At, layer?: string): boolean | undefined {
  if (at.node.kind === 'scalar' && typeof at.node.value === 'boolean') return at.node.value;
  rep.error(at.node.span, `"${at.key}" must be true or false, got ${describe(at.node)}`, at.pointer, layer);
  return undefined;
}

/** One of a fixed set of names, with "did you mean". */
export function readEnum<T extends string>(rep: Reporter, at: At, names: readonly T[], layer?: string): T | undefined {
  const s = readString(rep, at, layer);
  if (s === undefined) return undefined;
  if ((names as readonly string[]).includes(s)) return s as T;
  rep.error(at.node.span, `unknown ${at.key} "${s}"${didYouMean(s, names)}; expected one of ${names.join(', ')}`, at.pointer, layer);
  return undefined;
}

/** Reports keys of a map that are not allowed, with "did you mean"; returns false when the node is not a map. */
export function checkMap(rep: Reporter, at: At, allowed: readonly string[], what: string, layer?: string): boolean {
  if (at.node.kind !== 'map') {
    rep.error(at.node.span, `"${at.key}" must be a map of keys (${allowed.slice(0, 6).join(', ')}${allowed.length > 6 ? ', ...' : ''}), got ${describe(at.node)}`, at.pointer, layer);
    return false;
  }
  for (const e of at.node.entries) {
    if (!allowed.includes(e.key)) {
      rep.error(e.keySpan, `unknown key "${e.key.slice(0, 60)}" in ${what}${didYouMean(e.key, allowed)}`, `${at.pointer}/${e.key}`, layer);
    }
  }
  return true;
}
