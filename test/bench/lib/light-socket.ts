/**
 * A minimal WebSocket client for load generation: one TCP socket, the HTTP upgrade by hand, and
 * frames parsed straight from the byte stream into `onFrame(buffer)` (unfragmented text frames,
 * which is all our servers and socket.io send here). Sending masks with a zero key, which RFC 6455
 * allows. Hundreds of these cost a fraction of what as many `ws` clients cost.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

const empty = Buffer.alloc(0);

export class LightSocket {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #upgraded = false;
  closed = false;
  /** Called with each text frame's payload (a view into the receive buffer: copy what you keep). */
  onFrame: (payload: Buffer) => void = () => {};
  onClose: () => void = () => {};

  private constructor(socket: net.Socket) {
    this.#socket = socket;
  }

  static open(url: string, timeoutMs = 10_000): Promise<LightSocket> {
    const { hostname, port, pathname, search } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: hostname, port: Number(port), noDelay: true });
      const light = new LightSocket(socket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`upgrade of ${url} timed out`));
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.on('close', () => {
        light.closed = true;
        light.onClose();
      });
      socket.once('connect', () => {
        socket.write(
          `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      socket.on('data', (chunk: Buffer) => {
        if (light.#upgraded) return light.#receive(chunk);
        light.#buffer = Buffer.concat([light.#buffer, chunk]);
        const end = light.#buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(timer);
        const head = light.#buffer.subarray(0, end).toString();
        if (!head.startsWith('HTTP/1.1 101')) {
          socket.destroy();
          return reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
        }
        light.#upgraded = true;
        const rest = light.#buffer.subarray(end + 4);
        light.#buffer = Buffer.alloc(0);
        resolve(light);
        if (rest.length) light.#receive(rest);
      });
    });
  }

  send(text: string): void {
    const payload = Buffer.from(text);
    const length = payload.length;
    const header = length < 126 ? Buffer.from([0x81, 0x80 | length]) : Buffer.from([0x81, 0x80 | 126, length >> 8, length & 0xff]);
    if (length > 0xffff) throw new Error('frame too large for LightSocket');
    this.#socket.write(Buffer.concat([header, Buffer.alloc(4), payload]));
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #receive(chunk: Buffer): void {
    const data = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    let offset = 0;
    while (data.length - offset >= 2) {
      const opcode = data[offset]! & 0x0f;
      let length = data[offset + 1]! & 0x7f;
      let start = offset + 2;
      if (length === 126) {
        if (data.length - offset < 4) break;
        length = data.readUInt16BE(offset + 2);
        start += 2;
      } else if (length === 127) {
        if (data.length - offset < 10) break;
        length = Number(data.readBigUInt64BE(offset + 2));
        start += 8;
      }
      if (data.length < start + length) break;
      const payload = data.subarray(start, start + length);
      offset = start + length;
      if (opcode === 0x1) this.onFrame(payload);
      else if (opcode === 0x8) this.#socket.end();
      else if (opcode === 0x9) this.#control(0x8a, payload); // ping → pong
    }
    this.#buffer = offset < data.length ? Buffer.from(data.subarray(offset)) : empty;
  }

  #control(first: number, payload: Buffer): void {
    this.#socket.write(Buffer.concat([Buffer.from([first, 0x80 | payload.length]), Buffer.alloc(4), payload]));
  }
}
