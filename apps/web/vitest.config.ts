import { packageConfig } from '@rnnlm/vitest-config';

// The browser test writes a checkpoint with the library's Node code, so it needs the tfjs runtime.
export default packageConfig('@rnnlm/web', { tfjs: true });
