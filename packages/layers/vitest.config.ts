import { packageConfig } from '../../tooling/vitest/shared.ts';

export default packageConfig('@rnnlm/layers', { tfjs: true });
