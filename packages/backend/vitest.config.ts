import { packageConfig } from '@rnnlm/vitest-config';

export default packageConfig('@rnnlm/backend', { tfjs: true });
