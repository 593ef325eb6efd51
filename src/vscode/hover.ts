import * as vscode from 'vscode';
import type { ActivationName, InitSpec, LayerSpec } from '../model';
import { ACTIVATIONS } from '../core/activations';
import { canonicalInitName, initDescription, varianceFormula } from '../core/initializers';
import { inferShapes } from '../config/shapes';
import type { RunController } from './runController';
import { isConfigDocument, layerAt, parseDocument, toRange } from './documents';
import { CURVE_COLORS, curveSvg, symbolsUsed, type CurveColors } from './curveSvg';
import { formatNumber, layerLabel } from '../format';
import { documentHash } from './textHash';

/** Hovers in config files: activation names, initializer names, and layers. */
export class ConfigHoverProvider implements vscode.HoverProvider {
  constructor(private readonly runs: RunController) {}

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    if (!isConfigDocument(doc)) return undefined;
    const { config } = parseDocument(doc);
    if (!config) return undefined;
    const hit = layerAt(config, pos);
    if (!hit) return undefined;
    const { layer, key } = hit;
    const span = key ? layer.spans?.[key] : layer.span;
    const range = span ? toRange(span) : undefined;
    if (key === 'activation' && 'activation' in layer) return new vscode.Hover(this.activationHover(doc, layer, layer.activation.name), range);
    if (key === 'init' && layer.fromModel) return new vscode.Hover(fromModelHover(layer, config.model.weights), range);
    if (key === 'init' && 'init' in layer) return new vscode.Hover(initHover(layer.init), range);
    return new vscode.Hover(layerHover(config.model.input, config.model.layers, layer), range);
  }

  private activationHover(doc: vscode.TextDocument, layer: LayerSpec, name: ActivationName): vscode.MarkdownString {
    const a = ACTIVATIONS[name];
    const md = new vscode.MarkdownString(undefined, true);
    md.supportHtml = true;
    md.appendMarkdown(`**${name}** on `);
    md.appendText(layerLabel(layer));   // a name from the file: text, never Markdown
    md.appendMarkdown('\n\n');
    // What the user came for first: this layer's numbers from the latest run, then the curve, then the textbook.
    const record = this.runs.latest(doc.uri);
    const last = record?.view.timeline.at(-1)?.layers[layer.index];
    if (record && last && record.textHash === documentHash(doc)) {
      const parts = [
        last.deadFraction !== null ? `dead ${formatNumber(100 * last.deadFraction)}%` : undefined,
        last.saturatedFraction !== null ? `saturated ${formatNumber(100 * last.saturatedFraction)}%` : undefined,
        `gradRms ${formatNumber(last.gradRms)}`,
        last.preactStd !== null ? `z mean ${formatNumber(last.preactMean ?? 0)} ± ${formatNumber(last.preactStd)}` : undefined,
      ].filter(Boolean);
      md.appendMarkdown(`**Latest run** (step ${record.view.step}): ${parts.join(' · ')}\n\n`);
    } else if (record && last) {
      md.appendMarkdown(`*The config changed since the last run: run again for this layer's numbers.*\n\n`);
    }
    md.appendMarkdown(`![f and f' of ${name} over x from -5 to 5](${curveSvg(name, curveColors())})\n\n`);
    md.appendMarkdown(`${a.useWhen}\n\n`);
    md.appendMarkdown(`| | |\n|---|---|\n| f(x) | \`${a.formula}\` |\n| f'(x) | \`${a.derivative}\` |\n| range | ${a.range} |\n`);
    md.appendMarkdown(`| properties | ${[a.zeroCentered ? 'zero-centered' : 'not zero-centered', a.smooth ? 'smooth' : 'not smooth', a.monotonic ? 'monotonic' : 'non-monotonic'].join(', ')} |\n`);
    md.appendMarkdown(`| init | \`${a.recommendedInit}\` |\n\n`);
    const symbols = symbolsUsed(a.formula, a.derivative);
    if (symbols.length) md.appendMarkdown(`where ${symbols.join('; ')}\n\n`);
    // The one command this hover may run (a trusted link, nothing else): every activation on this layer's inputs.
    md.isTrusted = { enabledCommands: ['activationLens.openExplorer'] };
    md.appendMarkdown(`[Compare every activation in the Activation Explorer](command:activationLens.openExplorer?${encodeURIComponent(JSON.stringify([name, doc.uri.toString(), layer.index]))})\n\n`);
    return md;
  }
}

/** The hover curve's colours for the current colour theme. */
function curveColors(): CurveColors {
  switch (vscode.window.activeColorTheme.kind) {
    case vscode.ColorThemeKind.Light: return CURVE_COLORS.light;
    case vscode.ColorThemeKind.HighContrast: return CURVE_COLORS.highContrast;
    case vscode.ColorThemeKind.HighContrastLight: return CURVE_COLORS.highContrastLight;
    default: return CURVE_COLORS.dark;
  }
}

export function initHover(init: InitSpec): vscode.MarkdownString {
  const name = canonicalInitName(init.name) ?? init.name;
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**');
  md.appendText(name);   // an unknown name is the file's text
  md.appendMarkdown('** — initializer\n\n');
  const formula = varianceFormula(name);
  if (formula) md.appendMarkdown(`\`${formula}\`\n\n${initDescription(name) ?? ''}`);
  else if (init.scale !== undefined) md.appendMarkdown(`\`Var(w) = ${init.scale} / ${init.mode}\` (${init.distribution})`);
  return md;
}

/** `init: from-model` on a layer: where its weights come from and what must match. */
export function fromModelHover(layer: LayerSpec, weights: string | undefined): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**from-model** — this layer starts from the weights of ');
  md.appendText(weights ?? 'model.weights (not set)');   // a path from the file: text, never Markdown
  md.appendMarkdown(', matched by the layer name **');
  md.appendText(layer.name);
  md.appendMarkdown(`**; the other layers are drawn by their init.\n\n${layer.type === 'batchnorm' ? 'gamma, beta and the moving statistics' : 'kernel and bias'} come from the model, so the layer's shape must equal the model's, dim by dim (checked as you type; kernels in \`[in, out]\` or HWIO order).`);
  return md;
}

export function layerHover(input: number[], layers: LayerSpec[], layer: LayerSpec): vscode.MarkdownString {
  const { shapes } = inferShapes(input, layers);
  const s = shapes[layer.index];
  const md = new vscode.MarkdownString();
  // Layer names come from the file (or a Keras model someone else wrote): text, never Markdown, links or HTML.
  md.appendMarkdown('**');
  md.appendText(layerLabel(layer));
  md.appendMarkdown(`** — ${layer.type}\n\n`);
  if (s) md.appendMarkdown(`output shape \`[${s.outputShape.join(', ')}]\` · ${s.params.toLocaleString('en-US')} parameters${s.nonTrainableParams ? ` (+${s.nonTrainableParams} non-trainable)` : ''}`);
  return md;
}
