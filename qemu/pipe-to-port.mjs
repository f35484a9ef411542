// What QEMU's guestfwd runs for each connection the guest opens to a link-local service (a cloud's
// metadata address): its standard input and output, piped to a TCP port on the host's loopback.
// A guestfwd to a chardev would carry every connection over one stream; this gives each its own.
import { connect } from 'node:net';

const socket = connect(Number(process.argv[2]), '127.0.0.1');
process.stdin.pipe(socket).pipe(process.stdout);
socket.on('error', () => process.exit(1));
socket.on('close', () => process.exit(0));
