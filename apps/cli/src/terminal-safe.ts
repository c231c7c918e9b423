/**
 * Generated text shown on a terminal: a checkpoint's vocabulary is data from wherever the model came
 * from, and a token holding ESC sequences (set the window title, write the clipboard with OSC 52, hide
 * text) would be obeyed by the terminal. Control characters other than tab and newline are shown as
 * U+FFFD there; output to a pipe or file stays byte for byte.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function forTerminal(stream: { isTTY?: boolean }, text: string): string {
  return stream.isTTY ? text.replace(CONTROLS, '\uFFFD') : text;
}
