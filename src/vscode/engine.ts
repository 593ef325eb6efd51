/** The editor's side of engine choice: the interpreters to try, including the Python extension's selection. */
import * as vscode from 'vscode';
import { pythonCandidates, type PythonCandidate } from '../engine/torch/python';
import { trustRefusal } from './trustPolicy';

interface PythonExtensionApi {
  environments?: { getActiveEnvironmentPath?(resource?: vscode.Uri): { path?: string } | undefined };
  settings?: { getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] } | undefined };
}

/** The interpreter the Python extension (ms-python.python) has selected, when it is installed; never throws. */
async function pythonExtensionInterpreter(resource: vscode.Uri): Promise<string | undefined> {
  try {
    const ext = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
    if (!ext) return undefined;
    const api = ext.isActive ? ext.exports : await ext.activate();
    return api?.environments?.getActiveEnvironmentPath?.(resource)?.path ?? api?.settings?.getExecutionDetails?.(resource)?.execCommand?.[0];
  } catch {
    return undefined;
  }
}

/**
 * Trying an interpreter runs it, and the torch engine then runs a process on the workspace's config: never in
 * Restricted Mode, whichever command asks (Run, Compare and Verify also refuse there before getting here).
 */
export async function editorPythonCandidates(resource: vscode.Uri, pythonPath: string): Promise<PythonCandidate[]> {
  if (!vscode.workspace.isTrusted) throw new Error(trustRefusal('run', false));
  return pythonCandidates({ setting: pythonPath, extension: await pythonExtensionInterpreter(resource) });
}
