/**
 * Letting the event loop turn inside long engine loops. onnxruntime-node and our own array
 * loops run on the calling thread, and a loop of awaited promises that are already resolved
 * never reaches the macrotask queue: signal handlers (Ctrl+C), timers and sockets would wait
 * for the whole loop. Long loops call `yieldToEventLoop()` once per work item (a denoising
 * step, an image, a training step); it costs a few microseconds.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
