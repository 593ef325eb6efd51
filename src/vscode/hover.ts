import * as vscode from 'vscode';
import type { ActivationName, InitSpec, LayerSpec } from '../model';
import { ACTIVATIONS } from '../core/activations';
import { canonicalInitName, initDescription, varianceFormula } from '../core/initializers';
import { inferShapes } from '../config/shapes';
import type { RunController } from './runController';
import { isConfigDocument, layerAt, parseDocument, toRange } from './documents';
import { curveSvg } from './curveSvg';
import { formatNumber } from '../format';

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
    if (key === 'init' && 'init' in layer) return new vscode.Hover(initHover(layer.init), range);
    return new vscode.Hover(layerHover(config.model.input, config.model.layers, layer), range);
  }

  private activationHover(doc: vscode.TextDocument, layer: LayerSpec, name: ActivationName): vscode.MarkdownString {
    const a = ACTIVATIONS[name];
    const md = new vscode.MarkdownString(undefined, true);
    md.supportHtml = true;
    md.appendMarkdown(`**${name}** — activation\n\n`);
    md.appendMarkdown(`| | |\n|---|---|\n| f(x) | \`${a.formula}\` |\n| f'(x) | \`${a.derivative}\` |\n| range | ${a.range} |\n`);
    md.appendMarkdown(`| properties | ${[a.zeroCentered ? 'zero-centered' : 'not zero-centered', a.smooth ? 'smooth' : 'not smooth', a.monotonic ? 'monotonic' : 'non-monotonic'].join(', ')} |\n`);
    md.appendMarkdown(`| init | \`${a.recommendedInit}\` |\n\n`);
    md.appendMarkdown(`![curve of ${name}](${curveSvg(name)})\n\n`);
    md.appendMarkdown(`${a.useWhen}\n\n`);
    const record = this.runs.latest(doc.uri);
    const last = record?.view.timeline.at(-1)?.layers[layer.index];
    if (record && last) {
      const parts = [
        last.deadFraction !== null ? `dead ${formatNumber(100 * last.deadFraction)}%` : undefined,
        last.saturatedFraction !== null ? `saturated ${formatNumber(100 * last.saturatedFraction)}%` : undefined,
        `gradRms ${formatNumber(last.gradRms)}`,
        last.preactStd !== null ? `z mean ${formatNumber(last.preactMean ?? 0)} ± ${formatNumber(last.preactStd)}` : undefined,
      ].filter(Boolean);
      md.appendMarkdown(`**Latest run** (step ${record.view.step}, layer `);
      md.appendText(layer.name);
      md.appendMarkdown(`): ${parts.join(' · ')}`);
    }
    return md;
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

export function layerHover(input: number[], layers: LayerSpec[], layer: LayerSpec): vscode.MarkdownString {
  const { shapes } = inferShapes(input, layers);
  const s = shapes[layer.index];
  const md = new vscode.MarkdownString();
  // Layer names come from the file (or a Keras model someone else wrote): text, never Markdown, links or HTML.
  md.appendMarkdown('**');
  md.appendText(layer.name);
  md.appendMarkdown(`** — ${layer.type} (layer ${layer.index})\n\n`);
  if (s) md.appendMarkdown(`output shape \`[${s.outputShape.join(', ')}]\` · ${s.params.toLocaleString('en-US')} parameters${s.nonTrainableParams ? ` (+${s.nonTrainableParams} non-trainable)` : ''}`);
  return md;
}
