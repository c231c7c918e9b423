import { packageConfig } from '@rnnlm/vitest-config';

export default packageConfig('@rnnlm/train', { tfjs: true });
