import { packageConfig } from '@rnnlm/vitest-config';

export default packageConfig('@rnnlm/layers', { tfjs: true });
