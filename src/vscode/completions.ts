import * as vscode from 'vscode';
import { completionsAt, replaceRange } from '../edits/completions';

/** Only our own config files: a Keras model JSON is not written by hand. */
export const COMPLETION_SELECTOR: vscode.DocumentSelector = [{ pattern: '**/*.nn.{yaml,yml,json}' }];

/** Keys, layer types, activations (with formula), initializers (with variance), sources, optimizers, losses. */
export class ConfigCompletionProvider implements vscode.CompletionItemProvider {
  static readonly triggers = [':', ' ', '"', '{', ','];

  provideCompletionItems(doc: vscode.TextDocument, pos: vscode.Position): vscode.CompletionItem[] {
    const format = /\.json$/i.test(doc.fileName) ? 'json' : 'yaml';
    const text = doc.getText();
    const offset = doc.offsetAt(pos);
    const { start, end } = replaceRange(text, offset, format);
    const range = new vscode.Range(doc.positionAt(start), doc.positionAt(end));
    // "activation:|" needs the space YAML wants after the colon.
    const lead = format === 'yaml' && text[start - 1] === ':' ? ' ' : '';
    return completionsAt(text, offset, format).map(e => {
      const item = new vscode.CompletionItem(e.label, e.kind === 'key' ? vscode.CompletionItemKind.Property : vscode.CompletionItemKind.EnumMember);
      item.insertText = lead + e.insertText;
      item.range = range;
      item.filterText = format === 'json' ? `"${e.label}"` : e.label;
      item.sortText = e.sortText;
      if (e.detail) item.detail = e.detail;
      if (e.documentation) item.documentation = new vscode.MarkdownString(e.documentation);
      return item;
    });
  }
}
