/**
 * One turn of the event loop, without a timer's delay: setTimeout(0) waits at least 1 ms in Node and
 * 4 ms in a browser once nested, which between generated tokens would be most of the time.
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
