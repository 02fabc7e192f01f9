/**
 * An SMTP server that accepts and discards every message, run as a process of its own by the
 * benchmark (as a real SMTP server would be). Prints its port; answers a message with the count and bytes accepted so far, and its CPU time.
 */
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

let accepted = 0;
let bytes = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _session, callback) {
    stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
    stream.on('end', () => {
      accepted += 1;
      callback();
    });
  },
});
server.listen(0, '127.0.0.1', () => console.log(`port ${(server.server.address() as AddressInfo).port}`));
process.on('message', () => process.send?.({ accepted, bytes, cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000 }));
