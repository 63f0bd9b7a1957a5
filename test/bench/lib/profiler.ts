/**
 * CPU profiles of just the measured phase, taken from inside the process with the inspector
 * (the same `.cpuprofile` that `node --cpu-prof` writes, without the startup and module loading).
 * The files are kept in the run's scratch folder; open them in Chrome DevTools for the full tree.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

let session: Session | undefined;

function post(method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    session!.post(method, params, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

export async function startProfile(): Promise<void> {
  session ??= new Session();
  session.connect();
  await post('Profiler.enable');
  // 100 µs between samples (V8's default is 1 ms): short phases still get thousands of samples.
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
}

/** Stops the profile started by `startProfile` and writes it to `file`. */
export async function stopProfile(file: string): Promise<void> {
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  await post('Profiler.disable');
  session!.disconnect();
  writeFileSync(file, JSON.stringify(profile));
}
