// Starts fauxqs on a free loopback port, prints "listening <port>" once it answers,
// and stops when its stdin closes (so it never outlives the benchmark that started it).
import { startFauxqs } from "fauxqs";

const server = await startFauxqs({ host: "127.0.0.1", port: 0, logger: false });
process.stdout.write(`listening ${server.port}\n`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
