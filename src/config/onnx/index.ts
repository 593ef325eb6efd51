/**
 * ONNX import (SPEC §2.2): a *.onnx file given directly, or named by `model.onnx:` in a config, becomes the
 * core's layers (convert.ts) with teacher data of the model's input shape. External tensor data is read only
 * from files beside the model, through the same bounded reader as the model.
 */
import * as path from 'node:path';
import type { NetworkConfig } from '../../model';
import { finishConfig, type Draft } from '../finish';
import { Reporter } from '../read';
import { readUserFile, UserFileError } from '../../io/userFile';
import { safeName } from '../../format';
import type { ParseResult } from '../result';
import { convertGraph, type LayerParamShapes, type LayerWeights, type OnnxDraft } from './convert';
import { decodeModel, OnnxError, type ExternalReader } from './decode';

export { SUPPORTED_TEXT, type LayerWeights, type LayerParamShapes, type OnnxDraft, type ParamShape } from './convert';

export const isOnnxName = (f: string) => /\.onnx$/i.test(f);

/** Sidecar files by the model's path: only plain names in the model's own folder. */
export function sidecarReader(modelPath: string, readBytes: (abs: string) => Uint8Array = abs => readUserFile(abs, { kind: 'weights' })): ExternalReader {
  const cache = new Map<string, Uint8Array>();
  return (location, offset, length) => {
    const norm = location.replace(/\\/g, '/');
    if (!norm || norm !== path.posix.basename(norm) || norm === '.' || norm === '..') {
      throw new OnnxError(`external data "${safeName(location)}" is not a file beside the model: only sidecars in the model's own folder are read`);
    }
    let bytes = cache.get(norm);
    if (!bytes) {
      try { bytes = readBytes(path.join(path.dirname(modelPath), norm)); } catch (e) {
        const code = e instanceof UserFileError ? e.code : (e as NodeJS.ErrnoException).code;
        throw new OnnxError(`cannot read the external data file ${safeName(norm)}: ${code === 'ENOENT' ? 'no such file beside the model' : e instanceof UserFileError ? e.reason : safeName((e as Error).message)}`);
      }
      cache.set(norm, bytes);
    }
    const len = length ?? bytes.length - offset;
    if (offset + len > bytes.length) throw new OnnxError(`external data ${norm} has ${bytes.length} bytes; a tensor needs bytes ${offset} to ${offset + len}`);
    return bytes.subarray(offset, offset + len);
  };
}

/** The layers of an ONNX model's bytes; problems into `rep` (no spans: a binary file has no lines). */
export function readOnnx(bytes: Uint8Array, modelPath: string, rep: Reporter, ext?: ExternalReader, emptyLayers: 'refuse' | 'keep' = 'refuse'): OnnxDraft {
  try {
    return convertGraph(decodeModel(bytes), rep, ext ?? sidecarReader(modelPath), emptyLayers);
  } catch (e) {
    if (!(e instanceof OnnxError)) throw e;
    rep.error(undefined, e.message);
    return { layers: [], weights: [], shapes: [], producer: '', opset: 0, complete: false };
  }
}

/** An ONNX file given directly as a config (lint/diagnose/compare model.onnx). */
export function importOnnx(bytes: Uint8Array, fileName: string, ext?: ExternalReader): ParseResult {
  const rep = new Reporter();
  try {
    const od = readOnnx(bytes, fileName, rep, ext);
    const draft: Draft = { file: fileName, layers: od.layers, train: {}, probe: {}, diagnostics: {}, spans: {}, onnx: fileName };
    if (od.name) draft.name = od.name;
    if (od.input) draft.input = od.input;
    if (!draft.layers.length) {
      if (!rep.hasErrors) rep.error(undefined, 'the model has no layers');
      return { problems: rep.problems };
    }
    const config = draft.input ? finishConfig(draft, rep, { readFile: () => { throw new Error('no files'); } }) : undefined;
    if (!config) return { problems: rep.problems };
    return rep.hasErrors ? { problems: rep.problems, partial: config } : { config, problems: rep.problems };
  } catch (e) {
    rep.error(undefined, `could not read the ONNX model: ${(e as Error).message}`);
    return { problems: rep.problems };
  }
}

/** Reads an ONNX file (bounded) and imports it; never throws. */
export function loadOnnxFile(file: string): ParseResult {
  let bytes: Uint8Array;
  try { bytes = readUserFile(file, { kind: 'onnx' }); } catch (e) {
    const why = e instanceof UserFileError ? e.reason : (e as Error).message;
    return { problems: [{ severity: 'error', message: e instanceof UserFileError && (e.code === 'ENOENT' || e.code === 'EACCES') ? why : `cannot read the file: ${why}` }] };
  }
  return importOnnx(bytes, file);
}

/** The dims of each layer's parameters (the core's layout) without reading their values: what lint compares. */
export function onnxParamShapes(bytes: Uint8Array, modelPath: string): { shapes: LayerParamShapes[]; names: string[]; problems: Reporter['problems'] } {
  const rep = new Reporter();
  const od = readOnnx(bytes, modelPath, rep, undefined, 'keep');
  return { shapes: od.shapes, names: od.layers.map(l => l.name), problems: rep.problems };
}

/** The model's own weights for each layer of a config imported from it, in the core's layout. */
export function onnxWeights(bytes: Uint8Array, modelPath: string): { weights: LayerWeights[]; shapes: LayerParamShapes[]; names: string[]; problems: Reporter['problems'] } {
  const rep = new Reporter();
  const od = readOnnx(bytes, modelPath, rep, undefined, 'keep');
  try {
    const weights = od.weights.map(w => Object.fromEntries(Object.entries(w).map(([k, load]) => [k, load()])));
    return { weights, shapes: od.shapes, names: od.layers.map(l => l.name), problems: rep.problems };
  } catch (e) {
    if (!(e instanceof OnnxError)) throw e;
    rep.error(undefined, e.message);
    return { weights: [], shapes: [], names: [], problems: rep.problems };
  }
}

export type { NetworkConfig };
