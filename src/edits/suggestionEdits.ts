/**
 * Text edits that apply a suggestion to the user's config: replace exactly the value that changes (or insert the
 * missing key at the layer's indentation), keeping comments and formatting everywhere else. Pure: the editor turns
 * these into a WorkspaceEdit (undoable); tests check them on real texts.
 */
import type { NetworkConfig, Span } from '../model';
import type { Suggestion } from '../diagnosis/types';

export interface TextEdit { offset: number; length: number; text: string }
export type EditResult = { edits: TextEdit[] } | { error: string };

type Change = Pick<Suggestion, 'activation' | 'init' | 'lr' | 'clip'>;

const isJson = (fileName: string) => /\.json$/i.test(fileName);

/** Keras class names for initializer names, for edits inside an imported Keras model JSON. */
function kerasInitClass(name: string): string {
  return name.split('_').map(w => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

function lineStart(text: string, offset: number): number { return text.lastIndexOf('\n', offset - 1) + 1; }
function lineEnd(text: string, offset: number): number { const e = text.indexOf('\n', offset); return e < 0 ? text.length : e; }

/** Insert `key: value` into the mapping (YAML block or flow, or JSON object) whose span is given. */
function insertKey(text: string, json: boolean, mapping: Span, key: string, value: string): TextEdit {
  const start = mapping.start.offset, end = mapping.end.offset;
  const opening = text[start];
  const rendered = json ? `"${key}": ${value}` : `${key}: ${value}`;
  if (opening === '{') {
    const body = text.slice(start + 1, end - 1);
    const firstKey = /\S/.exec(body);
    if (body.includes('\n') && firstKey) {
      // Multi-line object: a new first line with the indentation of the current first key.
      const keyAt = start + 1 + firstKey.index;
      const indent = text.slice(lineStart(text, keyAt), keyAt);
      return { offset: start + 1, length: 0, text: `\n${indent}${rendered},` };
    }
    // One-line object: append before the closing brace, after the last entry.
    let close = end - 1;
    while (close > start && text[close] !== '}') close--;
    let last = close;
    while (last > start + 1 && /\s/.test(text[last - 1])) last--;
    return { offset: last, length: 0, text: firstKey ? `, ${rendered}` : rendered };
  }
  // YAML block mapping: a new line after the mapping's last line, at the indentation of its first key.
  const indent = ' '.repeat(mapping.start.character);
  let at = end;
  while (at > start && /\s/.test(text[at - 1])) at--;   // spans may include the trailing newline
  at = lineEnd(text, at);
  return { offset: at, length: 0, text: `\n${indent}${rendered}` };
}

function setValue(text: string, json: boolean, span: Span | undefined, mapping: Span | undefined, key: string, value: string): TextEdit | undefined {
  if (span) return { offset: span.start.offset, length: span.end.offset - span.start.offset, text: value };
  return mapping ? insertKey(text, json, mapping, key, value) : undefined;
}

export function suggestionEdits(text: string, fileName: string, config: NetworkConfig, layerIndices: number[], change: Change): EditResult {
  const json = isJson(fileName);
  const keras = !!config.model.keras && !/\.nn\.(ya?ml|json)$/i.test(fileName);
  // A config with `model.keras: file` holds no layers of its own: their spans are the reference, which an edit
  // would overwrite (`keras: relu`). Layer changes belong in the Keras file (see kerasReferenceEdits).
  if (config.model.keras && !keras && (change.activation || change.init) && layerIndices.length) {
    return { error: `the layers of ${fileName.split(/[\\/]/).pop()} come from ${config.model.keras}: change them there` };
  }
  const str = (s: string) => (json ? JSON.stringify(s) : s);
  const edits: TextEdit[] = [];
  for (const index of layerIndices) {
    const layer = config.model.layers[index];
    if (!layer) return { error: `layer ${index} is not in the config any more` };
    if (change.activation) {
      if (!('activation' in layer)) return { error: `layer ${layer.name} (${layer.type}) has no activation` };
      const e = setValue(text, json, layer.spans?.activation, layer.span, 'activation', str(change.activation));
      if (!e) return { error: `cannot find where to write the activation of layer ${layer.name}` };
      edits.push(e);
    }
    if (change.init) {
      if (!('init' in layer)) continue;   // e.g. an activation layer in "all hidden layers": nothing to initialize
      const value = keras ? JSON.stringify({ class_name: kerasInitClass(change.init), config: {} })
        : str(change.init);
      const e = setValue(text, json, layer.spans?.[keras ? 'kernel_initializer' : 'init'] ?? layer.spans?.init, layer.span,
        keras ? 'kernel_initializer' : 'init', value);
      if (!e) return { error: `cannot find where to write the initializer of layer ${layer.name}` };
      edits.push(e);
    }
  }
  for (const key of ['lr', 'clip'] as const) {
    const v = change[key];
    if (v === undefined) continue;
    if (keras) return { error: `set ${key} in a *.nn.yaml that imports this model (model.keras:), not in the Keras file` };
    const value = String(Number(v.toPrecision(3)));
    const span = config.spans[`train.${key}`];
    const train = config.spans['train'];
    if (span || train) { edits.push(setValue(text, json, span, train, key, value)!); continue; }
    // No train section at all: append one (YAML); in JSON ask for one rather than reformat the file.
    if (json) return { error: `add a "train" section to ${fileName} first` };
    edits.push({ offset: text.length, length: 0, text: `${text.endsWith('\n') ? '' : '\n'}train:\n  ${key}: ${value}\n` });
  }
  // Apply from the end so earlier offsets stay valid; drop duplicates (one layer named twice).
  edits.sort((a, b) => b.offset - a.offset);
  return { edits: edits.filter((e, i) => i === 0 || e.offset !== edits[i - 1].offset) };
}

/**
 * A suggestion for a config whose layers come from `model.keras: file`: the layer changes (activation, init) are
 * edits of the Keras JSON, at its own values; lr / clip stay in the config. `kerasConfig` is the Keras file parsed
 * on its own; it must list the same layers as the config imported, or nothing is edited.
 */
export function kerasReferenceEdits(configText: string, configFile: string, config: NetworkConfig,
  kerasText: string, kerasFile: string, kerasConfig: NetworkConfig | undefined, layerIndices: number[], change: Change): { config: TextEdit[]; keras: TextEdit[] } | { error: string } {
  const ref = config.model.keras ?? kerasFile;
  const layerChange = !!(change.activation || change.init) && layerIndices.length > 0;
  let keras: TextEdit[] = [];
  if (layerChange) {
    if (!kerasConfig) return { error: `${ref} has errors: fix them before applying a suggestion to its layers` };
    const a = config.model.layers, b = kerasConfig.model.layers;
    if (a.length !== b.length || a.some((l, i) => l.name !== b[i].name || l.type !== b[i].type)) {
      return { error: `${ref} changed since the config was read: run the linter again` };
    }
    const r = suggestionEdits(kerasText, kerasFile, kerasConfig, layerIndices, { activation: change.activation, init: change.init });
    if ('error' in r) return r;
    keras = r.edits;
  }
  let own: TextEdit[] = [];
  if (change.lr !== undefined || change.clip !== undefined) {
    const r = suggestionEdits(configText, configFile, config, [], { lr: change.lr, clip: change.clip });
    if ('error' in r) return r;
    own = r.edits;
  }
  return { config: own, keras };
}

/** Applies edits (sorted from the end) to a string: what the editor's WorkspaceEdit does, for tests and the CLI. */
export function applyEdits(text: string, edits: TextEdit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.offset - a.offset)) out = out.slice(0, e.offset) + e.text + out.slice(e.offset + e.length);
  return out;
}
