/**
 * Validation against the shipped JSON Schema (the same file package.json registers for editors). The
 * builder already reports most problems in its own words; schema messages fill the gaps at places the
 * builder did not speak about, so every rule of the schema holds for a config that parses.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import schema from '../../schemas/network.schema.json';
import type { Reporter } from './read';
import { nodeAt, toPlain, type SNode } from './tree';
import { didYouMean } from './names';

export { schema as NETWORK_SCHEMA };

let validator: ValidateFunction | undefined;
function validate(): ValidateFunction {
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(schema);
  return validator;
}

const related = (a: string, b: string) => a === b || a.startsWith(b + '/') || b.startsWith(a + '/');

export function schemaCheck(root: SNode, rep: Reporter): void {
  const v = validate();
  if (v(toPlain(root))) return;
  const seen = new Set<string>();
  // A broken file can have thousands of schema errors; the first ones say enough.
  for (const e of (v.errors ?? []).slice(0, 60)) {
    if (['if', 'anyOf', 'oneOf', 'allOf', 'not'].includes(e.keyword)) continue;
    const pointer = e.keyword === 'additionalProperties' ? `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}` : e.instancePath;
    if ([...rep.claimed].some(c => related(c, pointer))) continue;
    if (seen.has(pointer)) continue;
    seen.add(pointer);
    const at = nodeAt(root, pointer);
    const span = e.keyword === 'additionalProperties' ? at.keySpan ?? at.node.span : at.node.span;
    rep.error(span, message(e, pointer), pointer);
  }
}

function message(e: ErrorObject, pointer: string): string {
  const where = pointer.split('/').filter(Boolean).join('.') || 'the config';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': return `unknown key "${p.additionalProperty}"${didYouMean(String(p.additionalProperty), Object.keys((e.parentSchema as { properties?: object })?.properties ?? {}))}`;
    case 'required': return `${where} needs "${p.missingProperty}"`;
    case 'enum': return `${where} must be one of ${(p.allowedValues as unknown[]).slice(0, 12).join(', ')}`;
    default: return `${where} ${e.message ?? 'is not valid'}`;
  }
}
