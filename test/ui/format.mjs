// The UI tests compare the panel's text with the CLI's numbers through the project's own formatter (built by
// scripts/build.mjs as part of the webview bundle is not importable from Node, so load the TypeScript source via tsx).
import { register } from 'tsx/esm/api';
register();
const { formatNumber } = await import('../../src/format.ts');
export const formatNumberForTest = formatNumber;
