import { packageConfig } from '@rnnlm/vitest-config';

export default packageConfig('@rnnlm/cells', { tfjs: true });
