/**
 * Where the corpora that are not files come from. Browser-safe: the CLI downloads the Time Machine
 * through `@rnnlm/text/node` (which caches it), the web page with `fetch`; both check the same hash.
 */

/**
 * d2l's copy of H. G. Wells's "The Time Machine", over https: a page served over https may not fetch
 * http (mixed content), and Node follows the same URL.
 */
export const TIME_MACHINE_URL = 'https://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt';

/** SHA-1 of that file (d2l's `DATA_HUB` entry): a download that does not match is rejected. */
export const TIME_MACHINE_SHA1 = '090b5e7e70c295757f55df93cb0a180b9691891a';
