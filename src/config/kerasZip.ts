/**
 * Keras 3 `.keras` files: a zip archive with `config.json` (the model's `to_json()`), `metadata.json` and the
 * weights. Only config.json is extracted (src/io/zip.ts: bounded, offsets checked), its inflated size capped.
 */
import { readZipEntry, zipEntries, ZipError, isZip } from '../io/zip';

export class KerasZipError extends Error {}

/** config.json of a Keras 3 model is a few KB; far larger is not a model config. */
export const MAX_CONFIG_JSON_BYTES = 16 * 1024 * 1024;

export const isKerasZipName = (f: string) => /\.keras$/i.test(f);

/** The text of config.json inside a .keras archive; throws KerasZipError with a plain message. */
export function kerasZipConfig(zip: Uint8Array): string {
  if (!isZip(zip)) throw new KerasZipError('not a .keras file: a Keras 3 model is a zip archive, and this is not one');
  try {
    const entries = zipEntries(zip, '.keras archive');
    const e = entries.find(x => x.name === 'config.json');
    if (!e) {
      const names = entries.map(x => x.name);
      throw new KerasZipError(`the .keras archive has no config.json (it holds ${names.slice(0, 5).join(', ') || 'nothing'}${names.length > 5 ? ', ...' : ''}): not a Keras 3 model`);
    }
    return readZipEntry(zip, e, MAX_CONFIG_JSON_BYTES, '.keras archive').toString('utf8');
  } catch (e) {
    if (e instanceof ZipError) throw new KerasZipError(e.message);
    throw e;
  }
}
