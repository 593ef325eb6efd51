/**
 * What each data source of SPEC §2.1 is: its defaults and the shape of its inputs and targets. The parser
 * fills defaults and infers `model.input` from here; the generators in this folder produce exactly this.
 */
import type { DataSourceName, DataSpec } from '../model';

export interface SourceInfo {
  description: string;
  /** Keys of the data section this source reads (besides source, validation). */
  keys: string[];
  defaults: { samples: number; noise: number; classes?: number; features?: number; size?: number };
  /** Classification sources have classes >= 2; regression sources have none. */
  kind: 'classification' | 'regression' | 'either' | 'file' | 'logs';
}

export const SOURCES: Record<DataSourceName, SourceInfo> = {
  spiral: { description: 'interleaved 2-D spiral arms, one per class', keys: ['samples', 'noise', 'classes'], defaults: { samples: 1000, noise: 0.1, classes: 3 }, kind: 'classification' },
  circles: { description: 'two concentric 2-D circles', keys: ['samples', 'noise'], defaults: { samples: 1000, noise: 0.05, classes: 2 }, kind: 'classification' },
  xor: { description: 'the four 2-D quadrants, XOR of the signs', keys: ['samples', 'noise'], defaults: { samples: 1000, noise: 0.05, classes: 2 }, kind: 'classification' },
  moons: { description: 'two interleaving 2-D half circles', keys: ['samples', 'noise'], defaults: { samples: 1000, noise: 0.1, classes: 2 }, kind: 'classification' },
  gaussians: { description: 'Gaussian blobs, one per class', keys: ['samples', 'noise', 'classes', 'features'], defaults: { samples: 1000, noise: 1, classes: 3, features: 2 }, kind: 'classification' },
  checkerboard: { description: 'a 4x4 2-D checkerboard of two classes', keys: ['samples', 'noise'], defaults: { samples: 1000, noise: 0, classes: 2 }, kind: 'classification' },
  sine: { description: 'y = sin(x) on [-pi, pi] plus noise (regression)', keys: ['samples', 'noise'], defaults: { samples: 1000, noise: 0.1 }, kind: 'regression' },
  teacher: { description: 'N(0,1) inputs of any shape, targets from a random teacher network', keys: ['samples', 'noise', 'classes', 'features', 'shape'], defaults: { samples: 1000, noise: 0, classes: 0, features: 8 }, kind: 'either' },
  shapes: { description: 'grayscale images of triangles, squares and ellipses (after Glorot & Bengio\'s Shapeset)', keys: ['samples', 'noise', 'size'], defaults: { samples: 1500, noise: 0.1, classes: 3, size: 16 }, kind: 'classification' },
  csv: { description: 'a CSV file in the workspace: numeric features and a target column', keys: ['path', 'target', 'normalize'], defaults: { samples: 0, noise: 0 }, kind: 'file' },
  iris: { description: 'Fisher\'s iris flowers: 4 features, 3 classes, 150 samples', keys: [], defaults: { samples: 150, noise: 0, classes: 3 }, kind: 'classification' },
  npy: { description: 'NumPy .npy arrays: path the inputs [N, ...], target the labels [N] or targets [N, k]', keys: ['path', 'target', 'normalize', 'samples'], defaults: { samples: 0, noise: 0 }, kind: 'file' },
  npz: { description: 'a NumPy .npz archive: inputs x (or x_train, X, ...), labels y (or y_train, ...; target names another)', keys: ['path', 'target', 'normalize', 'samples'], defaults: { samples: 0, noise: 0 }, kind: 'file' },
  idx: { description: 'IDX files as MNIST ships them (gzipped or not): path the images, target the labels', keys: ['path', 'target', 'normalize', 'samples'], defaults: { samples: 0, noise: 0 }, kind: 'file' },
  images: { description: 'a folder of class sub-folders of PNG or JPEG images (torchvision ImageFolder), resized to model.input', keys: ['path', 'samples'], defaults: { samples: 0, noise: 0 }, kind: 'file' },
  tensorboard: { description: 'statistics read from TensorBoard event files', keys: ['logdir', 'tags'], defaults: { samples: 0, noise: 0 }, kind: 'logs' },
};

export const SOURCE_NAMES = Object.keys(SOURCES) as DataSourceName[];

export const SHAPE_CLASS_NAMES = ['triangle', 'square', 'ellipse'];
export const IRIS_SAMPLES = 150;

/** Input shape per sample for a data spec (csv: features from the header, given by the caller). */
export function sourceInputShape(d: DataSpec, csvFeatures?: number): number[] | undefined {
  switch (d.source) {
    case 'spiral': case 'circles': case 'xor': case 'moons': case 'checkerboard': return [2];
    case 'gaussians': return [d.features ?? 2];
    case 'sine': return [1];
    case 'teacher': return d.shape ? [...d.shape] : [d.features ?? 8];
    case 'shapes': return [d.size ?? 16, d.size ?? 16, 1];
    case 'iris': return [4];
    case 'csv': return csvFeatures !== undefined ? [csvFeatures] : undefined;
    case 'tensorboard': case 'npy': case 'npz': case 'idx': case 'images': return undefined;
  }
}

/** Number of classes of a classification source; 0 for regression; undefined when the file decides (csv). */
export function sourceClasses(d: DataSpec): number | undefined {
  const k = SOURCES[d.source].kind;
  if (k === 'classification') return d.classes ?? SOURCES[d.source].defaults.classes ?? 2;
  if (k === 'regression') return 0;
  if (k === 'either') return d.classes ?? 0;
  return undefined;
}

/** The split both the parser (steps from epochs, probe samples) and the loader use. */
export function splitSizes(samples: number, validation: number): { train: number; val: number } {
  const val = Math.min(samples - 1, Math.max(1, Math.round(samples * validation)));
  return { train: samples - val, val };
}
