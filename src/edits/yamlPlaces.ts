/**
 * Where a value of a YAML config is written, as opposed to where it is used. An alias (`- *l`) uses a node that
 * is written once, at its anchor (`- &l {...}`): an edit must go to that one place, and then it changes every
 * path that uses the node. This maps each written node to all the paths that reach it, so an edit can say
 * what it would change before it is made.
 */
import * as YAML from 'yaml';
import { MAX_NODES, yamlAliasTargets } from '../config/tree';

export type Path = (string | number)[];
export const pathId = (p: Path) => JSON.stringify(p.map(String));

export interface YamlPlaces {
  /** The written node a path leads to (aliases followed), or why there is none. */
  node(path: Path): YAML.Node | undefined;
  /** The pair of `key` in a written map (its first: duplicate keys are errors before any edit). */
  pair(map: YAML.YAMLMap, key: string): YAML.Pair | undefined;
  /** Every path that reaches the written node (one, unless aliases share it). */
  pathsOf(node: YAML.Node): Path[];
  /** The node an alias stands for. */
  target(alias: YAML.Alias): YAML.Node | undefined;
}

const keyOf = (k: unknown) => (YAML.isScalar(k) ? String(k.value) : k ? String((k as object).toString()) : '').slice(0, 200);

/** `doc`: the text as the config's tree read it (one parse less); parsed here when not given. */
export function yamlPlaces(text: string, given?: YAML.Document.Parsed): YamlPlaces | { error: string } {
  const doc = given ?? YAML.parseDocument(text, { uniqueKeys: false, prettyErrors: false, strict: true });
  if (doc.errors.length) return { error: 'the file has YAML errors: fix them first' };
  const targets = yamlAliasTargets(doc) as Map<unknown, YAML.Node>;
  const paths = new Map<unknown, Path[]>();
  let count = 0;
  // Every use of every node, aliases expanded: bounded like the config's own tree (an alias bomb stops here too).
  const walk = (n: unknown, path: Path, depth: number): boolean => {
    if (++count > MAX_NODES || depth > 64) return false;
    if (YAML.isAlias(n)) { const t = targets.get(n); return t ? walk(t, path, depth + 1) : true; }
    if (!YAML.isNode(n)) return true;
    const list = paths.get(n);
    if (list) list.push(path); else paths.set(n, [path]);
    if (YAML.isMap(n)) return n.items.every(p => walk(p.value, [...path, keyOf(p.key)], depth + 1));
    if (YAML.isSeq(n)) return n.items.every((it, i) => walk(it, [...path, i], depth + 1));
    return true;
  };
  if (!walk(doc.contents, [], 0)) return { error: 'the file expands to too many values to edit safely' };
  const resolve = (n: unknown) => (YAML.isAlias(n) ? targets.get(n) : n);
  const pair = (map: YAML.YAMLMap, key: string) => map.items.find(p => keyOf(p.key) === key) as YAML.Pair | undefined;
  return {
    node(path) {
      let n = resolve(doc.contents);
      for (const seg of path) {
        if (YAML.isMap(n)) n = resolve(pair(n, String(seg))?.value);
        else if (YAML.isSeq(n)) n = resolve(n.items[Number(seg)]);
        else return undefined;
      }
      return YAML.isNode(n) ? n : undefined;
    },
    pair,
    pathsOf: n => paths.get(n) ?? [],
    target: a => targets.get(a),
  };
}
