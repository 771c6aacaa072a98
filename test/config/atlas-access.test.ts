import { describe, expect, it } from "vitest";
import { loadAtlasAccess } from "../../src/config/atlas-access.js";
import { ConfigError } from "../../src/config/config-error.js";

const KEY = {
  MONGODB_ATLAS_PUBLIC_API_KEY: "pubkeyabc",
  MONGODB_ATLAS_PRIVATE_API_KEY: "5f1e0c2a-private-key-never-logged",
};

describe("loadAtlasAccess", () => {
  it("refuses http:// on a host that is not loopback, naming the variable", async () => {
    const error = await loadAtlasAccess({
      env: { ...KEY, MONGODB_ATLAS_BASE_URL: "http://cloud.mongodb.com" },
      cwd: "/",
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      {
        key: "MONGODB_ATLAS_BASE_URL",
        message:
          '"http://cloud.mongodb.com" uses http:// on a host that is not loopback, which would send the credentials in cleartext; use https://, or set allowInsecureHttp: true (RESTORE_WATCH_ALLOW_INSECURE_HTTP) for a test server you trust',
      },
    ]);
  });

  it("accepts http:// on loopback, and elsewhere when RESTORE_WATCH_ALLOW_INSECURE_HTTP is true", async () => {
    const local = await loadAtlasAccess({
      env: { ...KEY, MONGODB_ATLAS_BASE_URL: "http://127.0.0.1:9918" },
      cwd: "/",
    });
    expect(local.baseUrl).toBe("http://127.0.0.1:9918");
    const allowed = await loadAtlasAccess({
      env: {
        ...KEY,
        MONGODB_ATLAS_BASE_URL: "http://simulator:9918",
        RESTORE_WATCH_ALLOW_INSECURE_HTTP: "true",
      },
      cwd: "/",
    });
    expect(allowed.baseUrl).toBe("http://simulator:9918");
  });
});
