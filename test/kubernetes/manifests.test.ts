/**
 * deploy/kubernetes without a cluster: every object validated against the Kubernetes schemas of
 * kubernetes-models (the Prometheus Operator's CRD schemas for ServiceMonitor and
 * PrometheusRule), the kustomization's files all listed and present, and what matters to this
 * daemon checked field by field. Those schemas, like the API server without strict field
 * validation, let unknown fields pass: the fields that matter are read here by their exact path.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IService } from "kubernetes-models/v1/Service";
import type { IServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { SHUTDOWN_GRACE_MS } from "../../src/commands/daemon.js";
import { loadSettings } from "../../src/config/load-settings.js";
import { ROOT } from "../prometheus/tools.js";

const BASE = join(ROOT, "deploy/kubernetes");
const NAME = "atlas-restore-watch";

/** The fields of kustomization.yaml this base uses; anything else is a mistake here. */
const KUSTOMIZATION_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["apiVersion", "kind", "resources"],
  properties: {
    apiVersion: { const: "kustomize.config.k8s.io/v1beta1" },
    kind: { const: "Kustomization" },
    resources: { type: "array", items: { type: "string" }, minItems: 1, uniqueItems: true },
    configMapGenerator: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "files"],
        properties: {
          name: { type: "string" },
          files: { type: "array", items: { type: "string" } },
        },
      },
    },
    images: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name"],
        properties: {
          name: { type: "string" },
          newName: { type: "string" },
          newTag: { type: "string" },
        },
      },
    },
  },
} as const;

interface Kustomization {
  resources: string[];
  configMapGenerator: { name: string; files: string[] }[];
  images: { name: string; newTag: string }[];
}

/** A schema-checked model class for each kind the base ships. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  Deployment,
  PersistentVolumeClaim,
  Service,
  ServiceMonitor,
  PrometheusRule,
  ConfigMap,
};

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
};

let kustomization: Kustomization;
const objects = new Map<string, K8sObject>();

beforeAll(async () => {
  kustomization = parse(await readFile(join(BASE, "kustomization.yaml"), "utf8")) as Kustomization;
  for (const file of kustomization.resources ?? []) {
    const documents = parseAllDocuments(await readFile(join(BASE, file), "utf8"));
    for (const document of documents) {
      expect(document.errors, file).toEqual([]);
      const object = document.toJS() as K8sObject;
      objects.set(object.kind, object);
    }
  }
});

function object<T>(kind: string): T {
  const found = objects.get(kind);
  if (!found) throw new Error(`no ${kind} in the base`);
  return found as unknown as T;
}

describe("the kustomize base", () => {
  it("has a kustomization of known fields only", () => {
    const validate = new Ajv({ allErrors: true, strict: true }).compile(KUSTOMIZATION_SCHEMA);
    expect(validate(kustomization), JSON.stringify(validate.errors)).toBe(true);
  });

  it("lists every file in the folder, and every file it lists exists", async () => {
    const listed = [
      ...kustomization.resources,
      ...kustomization.configMapGenerator.flatMap((g) => g.files),
    ];
    const present = (await readdir(BASE)).filter((name) => name !== "kustomization.yaml").sort();
    expect([...listed].sort()).toEqual(present);
  });

  it("ships exactly the objects of the issue, each one valid against its schema", () => {
    expect([...objects.keys()].sort()).toEqual(
      ["Deployment", "PersistentVolumeClaim", "PrometheusRule", "Service", "ServiceMonitor"].sort(),
    );
    for (const [kind, data] of objects) {
      const Model = MODELS[kind];
      if (!Model) throw new Error(`no schema for ${kind}`);
      expect(() => new Model(data as never).validate(), kind).not.toThrow();
      expect(data.metadata.labels?.["app.kubernetes.io/name"], kind).toBe(NAME);
    }
  });

  it("would catch an object that breaks its schema", () => {
    const deployment = structuredClone(object<IDeployment>("Deployment"));
    (deployment.spec as { replicas: unknown }).replicas = "1";
    expect(() => new Deployment(deployment).validate()).toThrow(/replicas must be integer/);
    const monitor = structuredClone(object<IServiceMonitor>("ServiceMonitor"));
    (monitor.spec as { endpoints: unknown }).endpoints = "http-metrics";
    expect(() => new ServiceMonitor(monitor).validate()).toThrow(/endpoints must be array/);
  });

  it("tags the image with the project's version", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    expect(kustomization.images).toEqual([{ name: NAME, newTag: pkg.version }]);
    expect(object<IDeployment>("Deployment").spec?.template.spec?.containers[0]?.image).toBe(NAME);
  });
});

describe("the Deployment", () => {
  const deployment = () => object<IDeployment>("Deployment");
  const pod = () => deployment().spec!.template.spec!;
  const container = () => pod().containers[0]!;

  it("runs one replica, replaced rather than rolled (one writer of the state file)", () => {
    expect(deployment().spec?.replicas).toBe(1);
    expect(deployment().spec?.strategy).toEqual({ type: "Recreate" });
    expect(deployment().spec?.selector.matchLabels).toEqual({ "app.kubernetes.io/name": NAME });
    expect(deployment().spec?.template.metadata?.labels).toMatchObject({
      "app.kubernetes.io/name": NAME,
    });
    expect(pod().containers).toHaveLength(1);
  });

  it("runs as the image's non-root user on a read-only root filesystem", () => {
    expect(pod().securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container().securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(pod().automountServiceAccountToken).toBe(false);
  });

  it("probes /readyz and /healthz on the daemon's port, and waits out its shutdown", () => {
    expect(container().ports).toEqual([
      { name: "http-metrics", containerPort: 9917, protocol: "TCP" },
    ]);
    expect(container().readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http-metrics" });
    expect(container().livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http-metrics" });
    // The cycle's grace, then the save, the token's revocation and the server's close.
    expect(pod().terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      SHUTDOWN_GRACE_MS / 1000 + 15,
    );
  });

  it("asks for resources sized from docs/benchmarks.md", async () => {
    const benchmarks = await readFile(join(ROOT, "docs/benchmarks.md"), "utf8");
    // The memory table's figures, MiB: resident and peak per case and phase.
    const table = benchmarks.slice(benchmarks.indexOf("## Memory"));
    const figures = [...table.matchAll(/(\d+\.\d) \/ (\d+\.\d)/g)].flatMap((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    expect(figures.length).toBeGreaterThanOrEqual(24);
    const peak = Math.max(...figures);
    const resources = container().resources!;
    const mebibytes = (quantity: unknown) => Number(String(quantity).replace(/Mi$/, ""));
    // The request holds the daemon in service; the limit leaves room above the measured peak.
    expect(mebibytes(resources.requests?.memory)).toBeGreaterThanOrEqual(
      Math.max(...figures.filter((_, i) => i % 2 === 0)),
    );
    expect(mebibytes(resources.limits?.memory)).toBeGreaterThanOrEqual(1.5 * peak);
    expect(resources.requests?.cpu).toBe("50m");
    expect(resources.limits?.cpu).toBeUndefined();
  });

  it("mounts the configuration, the credentials, the state volume and a scratch /tmp", () => {
    expect(container().volumeMounts).toEqual([
      { name: "config", mountPath: "/etc/atlas-restore-watch", readOnly: true },
      { name: "credentials", mountPath: "/run/secrets/atlas", readOnly: true },
      { name: "data", mountPath: "/app/data" },
      { name: "tmp", mountPath: "/tmp" },
    ]);
    const generated = kustomization.configMapGenerator[0]!.name;
    expect(pod().volumes).toEqual([
      { name: "config", configMap: { name: generated } },
      {
        name: "credentials",
        secret: { secretName: "atlas-restore-watch-credentials", defaultMode: 0o400 },
      },
      {
        name: "data",
        persistentVolumeClaim: {
          claimName: object<K8sObject>("PersistentVolumeClaim").metadata.name,
        },
      },
      { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
    ]);
  });
});

describe("the configuration and credentials as the pod sees them", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "restore-watch-k8s-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is a valid ConfigMap and a configuration the daemon loads, with the Secret's files", async () => {
    const file = kustomization.configMapGenerator[0]!.files[0]!;
    const text = await readFile(join(BASE, file), "utf8");
    expect(() =>
      new ConfigMap({
        metadata: { name: kustomization.configMapGenerator[0]!.name },
        data: { [file]: text },
      }).validate(),
    ).not.toThrow();
    // The pod's paths, moved into a temporary folder: the mounts' contents are put there.
    const container = object<IDeployment>("Deployment").spec!.template.spec!.containers[0]!;
    const mounts = Object.fromEntries(
      (container.volumeMounts ?? []).map((m) => [m.mountPath, join(dir, m.name)]),
    );
    for (const path of Object.values(mounts)) await mkdir(path, { recursive: true });
    await writeFile(join(mounts["/etc/atlas-restore-watch"]!, file), text);
    await writeFile(join(mounts["/run/secrets/atlas"]!, "client-id"), "mdb_sa_id_k8s\n");
    await writeFile(join(mounts["/run/secrets/atlas"]!, "client-secret"), "mdb_sa_sk_k8s\n");
    const env: Record<string, string> = {};
    for (const variable of container.env ?? []) {
      const value = variable.value ?? "";
      const mount = Object.keys(mounts).find((path) => value.startsWith(`${path}/`));
      env[variable.name] = mount ? value.replace(mount, mounts[mount]!) : value;
    }
    const settings = await loadSettings({ env, cwd: "/app" });
    expect(settings.credentials).toEqual({
      kind: "serviceAccount",
      clientId: "mdb_sa_id_k8s",
      clientSecret: "mdb_sa_sk_k8s",
    });
    expect(settings.stateFile).toBe(join(mounts["/app/data"]!, "state.json"));
    expect(settings.listen).toEqual({ host: "0.0.0.0", port: container.ports?.[0]?.containerPort });
    expect(settings.jobs.length).toBeGreaterThan(0);
  });
});

describe("the Prometheus Operator objects", () => {
  it("scrape the Service's port, named after the job label the alerts expect", () => {
    const service = object<IService>("Service");
    expect(service.metadata?.name).toBe(NAME);
    expect(service.spec?.selector).toEqual({ "app.kubernetes.io/name": NAME });
    expect(service.spec?.ports).toEqual([
      { name: "http-metrics", port: 9917, targetPort: "http-metrics", protocol: "TCP" },
    ]);
    const monitor = object<IServiceMonitor>("ServiceMonitor");
    expect(monitor.spec.selector.matchLabels).toEqual(service.metadata?.labels);
    expect(monitor.spec.endpoints).toEqual([
      { port: "http-metrics", path: "/metrics", interval: "30s" },
    ]);
  });

  it("carry exactly the rules of config/prometheus/alerts.yml", async () => {
    const alerts = parse(await readFile(join(ROOT, "config/prometheus/alerts.yml"), "utf8")) as {
      groups: unknown;
    };
    const rule = object<{ spec: { groups: unknown } }>("PrometheusRule");
    expect(
      rule.spec.groups,
      "deploy/kubernetes/prometheusrule.yaml: copy the groups of config/prometheus/alerts.yml into spec.groups",
    ).toEqual(alerts.groups);
  });
});
