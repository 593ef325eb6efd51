/**
 * What a tag measures and for which layer. Defaults cover the common conventions (PyTorch parameter names,
 * tensorboardX "<layer>/<param>", TF1 name scopes, the Keras callback, the project's PyTorch helper); a config's
 * `data.tags:` or the settings override them per quantity with a template such as "{layer}/dz".
 */
import type { InputProblem } from '../model';

/** preact = z, activation = f(z), grad = dLoss/dz; the scalars feed trainLoss/valLoss/valAccuracy/gradNorm. */
export type Quantity =
  | 'preact' | 'activation' | 'grad' | 'weight' | 'weight_grad' | 'bias'
  | 'loss' | 'val_loss' | 'val_accuracy' | 'grad_norm';

export const QUANTITIES: Quantity[] = ['preact', 'activation', 'grad', 'weight', 'weight_grad', 'bias', 'loss', 'val_loss', 'val_accuracy', 'grad_norm'];
export const SCALAR_QUANTITIES = new Set<Quantity>(['loss', 'val_loss', 'val_accuracy', 'grad_norm']);

export interface TagRule { quantity: Quantity; pattern: RegExp }
export interface TagMatch { quantity: Quantity; layer: string }

const L = '(?<layer>.+?)';
const SEP = '[/.]';
const rule = (quantity: Quantity, re: string): TagRule => ({ quantity, pattern: new RegExp(`^${re}$`, 'i') });

/** First match wins; patterns see the tag after normalizeTag. */
export const DEFAULT_TAG_RULES: TagRule[] = [
  // dL/dz: the project's helper writes "<layer>/grad_preact"
  rule('grad', `${L}${SEP}(grad_preact|preact_grad|grad_preactivation|grad_z|dz|dl_dz|dloss_dz)`),
  // weight gradients: PyTorch "fc1.weight.grad", "fc1/weight/grad", "grad/fc1.weight", Keras "dense/kernel_0/gradient"
  rule('weight_grad', `${L}${SEP}(weight|weights|kernel|kernel_0)[/._](grad|grads|gradient|gradients)(/histogram)?`),
  rule('weight_grad', `(grad|grads|gradients?)/${L}${SEP}(weight|weights|kernel|kernel_0)`),
  rule('bias', `${L}${SEP}(bias|biases|bias_0)[/._](grad|grads|gradient|gradients)(/histogram)?`),
  rule('weight', `${L}${SEP}(weight|weights|kernel|kernel_0)(/histogram)?`),
  rule('bias', `${L}${SEP}(bias|biases|bias_0)(/histogram)?`),
  // A last segment that starts with the word: "MyLinearLayer/Weights_Distribution", "dense/kernel:0",
  // "fc1/weight-hist" (not "weight_decay", not a gradient, which the rules above took).
  rule('weight', `${L}${SEP}(weight|weights|kernel)(?![a-z])(?![^/]*(decay|grad))[^/]*(/histogram)?`),
  rule('bias', `${L}${SEP}(bias|biases)(?![a-z])(?![^/]*grad)[^/]*(/histogram)?`),
  rule('preact', `${L}${SEP}(preact|preacts|preactivation|preactivations|pre_activation|pre_activations|z)(/histogram)?`),
  rule('activation', `${L}${SEP}(activation|activations|act|acts|output|outputs|a)(/histogram)?`),
  rule('val_loss', `(epoch_)?(val|valid|validation|test|eval)[/_]loss`),
  rule('val_accuracy', `(epoch_)?(val|valid|validation|test|eval)[/_](acc|accuracy)`),
  rule('grad_norm', `(.*/)?(grad|gradient)_?norm`),
  rule('loss', `((train|training)[/_])?(epoch_|batch_)?(loss|cost)`),
  rule('loss', `.*/(loss|cost)`),
];

/**
 * TF1 name scopes repeat themselves ("layer1/weights/layer1/weights", "layer1/layer1/outputs"): drop a
 * leading group of path segments that the rest of the tag starts with again.
 */
export function normalizeTag(tag: string): string {
  const seg = tag.split('/');
  for (let k = Math.floor(seg.length / 2); k >= 1; k--) {
    let same = true;
    for (let i = 0; i < k && same; i++) same = seg[i] === seg[k + i];
    if (same) return seg.slice(k).join('/');
  }
  return tag;
}

export function matchTag(tag: string, rules: TagRule[]): TagMatch | null {
  const t = normalizeTag(tag);
  for (const r of rules) {
    const m = r.pattern.exec(t);
    if (m) return { quantity: r.quantity, layer: m.groups?.layer ?? '' };
  }
  return null;
}

/**
 * Override rules from `tags:` (quantity -> template). A template is the tag with "{layer}" where the layer
 * name goes and "*" for anything; "re:<regex>" gives a regular expression with a (?<layer>...) group.
 * Overrides come before the defaults. Unknown quantities and bad patterns are problems, not exceptions.
 */
export function tagRules(overrides: Record<string, string> | undefined): { rules: TagRule[]; problems: InputProblem[] } {
  const rules: TagRule[] = [];
  const problems: InputProblem[] = [];
  for (const [key, template] of Object.entries(overrides ?? {})) {
    const quantity = key.replace(/-/g, '_') as Quantity;
    if (!QUANTITIES.includes(quantity)) {
      problems.push({ severity: 'error', message: `unknown tag quantity "${key}"; expected one of ${QUANTITIES.join(', ')}` });
      continue;
    }
    try {
      const source = template.startsWith('re:') ? template.slice(3)
        : template.split('{layer}').map(p => p.split('*').map(escapeRegExp).join('.*')).join('(?<layer>.+?)');
      rules.push({ quantity, pattern: new RegExp(`^(?:${source})$`) });
    } catch (e) {
      problems.push({ severity: 'error', message: `tags.${key}: invalid pattern "${template}": ${(e as Error).message}` });
    }
  }
  return { rules: [...rules, ...DEFAULT_TAG_RULES], problems };
}

function escapeRegExp(s: string): string { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }
