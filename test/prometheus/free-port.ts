/** A free TCP port on loopback, for a child process that must be given its port up front. */
import { createServer } from "node:net";

/**
 * Binds 127.0.0.1:0, reads the port the kernel chose and closes again. Another process may take
 * the port before the caller does, so callers retry on "address already in use".
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string")
    throw new Error("no TCP address on loopback");
  return address.port;
}
