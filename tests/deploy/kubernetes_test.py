#!/usr/bin/python3
"""deploy/kubernetes renders and is valid, offline (no cluster): both overlays through the
`kubectl kustomize` on PATH (kubectl 1.32's kustomize v5 and Debian 12's kubectl 1.20 with
kustomize v2.0.3 alike), then

- every object against the Kubernetes API schemas of npm's kubernetes-models, and for fields
  those schemas do not know (kubernetes_validate.mjs); a self-test proves that a misspelt
  `replicass` or `readinesProbe`, and a wrongly typed field, fail;
- what the modes promise. Both: the pod non-root with a read-only root, no privilege escalation,
  no capabilities, /readyz and /healthz probes, resources; every Secret, ConfigMap and claim it
  references is in the render (or optional); only the daemon's own variables; Service and
  Deployment select the pods; the API tokens are placeholders the daemon refuses.
  single-node: one replica, Recreate, the data dir on a PersistentVolumeClaim, no database URL
  nor object store. scale-out: two replicas or more, RollingUpdate with maxUnavailable 0, a
  PodDisruptionBudget that selects the pods, an autoscaling/v2 HPA on the Deployment with the
  metric oci2eif_queue_depth, every emptyDir size-limited and the data dir on one, the database
  URL and the S3 keys from Secrets that ship as placeholders, the replica id from the pod name.

The validator's npm packages (tests/deploy/kubernetes-validator, exact versions and lock) are
installed with `npm ci` under BUILD_DIR once, and again when the lock changes.

usage: kubernetes_test.py BUILD_DIR   (python3-yaml; exits 77 without kubectl, node or npm)
"""
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from checks import check, summary  # noqa: E402

OVERLAYS = os.path.join(ROOT, "deploy", "kubernetes", "overlays")
VALIDATOR = os.path.join(HERE, "kubernetes_validate.mjs")
PACKAGES = os.path.join(HERE, "kubernetes-validator")

# The variables the daemon reads (each setting's OCI2EIF_* name, S3 credentials from AWS_*,
# registry credentials through DOCKER_CONFIG): a misspelt one would be ignored.
DAEMON_ENV = {"DOCKER_CONFIG", "OCI2EIF_DATABASE", "OCI2EIF_OBJECT_STORE", "OCI2EIF_S3_ENDPOINT",
              "OCI2EIF_S3_REGION", "OCI2EIF_S3_PATH_STYLE", "OCI2EIF_REPLICA_ID",
              "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}


def run(cmd, timeout=300, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def install_packages(build_dir):
    """npm ci of the validator's packages into BUILD_DIR/tests/deploy/kubernetes-validator;
    returns its node_modules, or None (the failure printed)."""
    dest = os.path.join(build_dir, "tests", "deploy", "kubernetes-validator")
    with open(os.path.join(PACKAGES, "package-lock.json")) as f:
        lock = f.read()
    stamp = os.path.join(dest, "installed-lock.json")
    if os.path.exists(stamp) and open(stamp).read() == lock:
        return os.path.join(dest, "node_modules")
    os.makedirs(dest, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(PACKAGES, name), dest)
    r = run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=dest, timeout=600)
    if not check("npm ci installs the validator's packages in %s" % dest, r.returncode == 0,
                 r.stderr[-1500:]):
        return None
    with open(stamp, "w") as f:
        f.write(lock)
    return os.path.join(dest, "node_modules")


def render(overlay):
    r = run(["kubectl", "kustomize", os.path.join(OVERLAYS, overlay)], timeout=120)
    check("kubectl kustomize overlays/%s" % overlay, r.returncode == 0, r.stderr[-1500:])
    return [d for d in yaml.safe_load_all(r.stdout) if d] if r.returncode == 0 else None


def validate(node_modules, objects):
    """kubernetes_validate.mjs over `objects`: (exit status, output)."""
    r = run(["node", VALIDATOR], input=yaml.safe_dump_all(objects),
            env=dict(os.environ, K8S_MODELS=node_modules), timeout=120)
    return r.returncode, r.stdout + r.stderr


def self_test(node_modules, objects):
    """The validator fails what it must: unknown fields at the top of a spec and deep in a pod,
    and a schema violation."""
    def mutated(change):
        copy = json.loads(json.dumps(objects))
        change(next(o for o in copy if o["kind"] == "Deployment"))
        return validate(node_modules, copy)

    def misspell(d):
        d["spec"]["replicass"] = d["spec"].pop("replicas")
        c = d["spec"]["template"]["spec"]["containers"][0]
        c["readinesProbe"] = c.pop("readinessProbe")

    rc, out = mutated(misspell)
    check("self-test: `replicass` and `readinesProbe` are reported as unknown fields",
          rc == 1 and "unknown field /spec/replicass" in out
          and "unknown field /spec/template/spec/containers/0/readinesProbe" in out, out)
    rc, out = mutated(lambda d: d["spec"].update(replicas="two"))
    check("self-test: replicas: \"two\" fails the schema", rc == 1 and "replicas must be integer" in out, out)


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def one(objects, kind):
    found = by_kind(objects, kind)
    return found[0] if len(found) == 1 else None


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_common(overlay, objects):
    """What both modes promise; returns (deployment, pod spec, container, {name: volume},
    the data volume), or None."""
    def ok(what, *rest):
        return check("%s: %s" % (overlay, what), *rest)
    dep = one(objects, "Deployment")
    if not ok("one Deployment", dep is not None):
        return None
    pod = dep["spec"]["template"]["spec"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    c = pod["containers"][0]
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    ok("the Deployment's selector selects its pods", selects(dep["spec"]["selector"]["matchLabels"], labels))
    svc = one(objects, "Service")
    ok("the Service selects the pods and targets the http port",
       svc is not None and selects(svc["spec"]["selector"], labels)
       and all(p["targetPort"] == "http" for p in svc["spec"]["ports"])
       and any(p.get("name") == "http" for p in c["ports"]), svc)
    ok("non-root (runAsNonRoot, a non-zero user), read-only root, no privilege escalation, "
       "capabilities: drop ALL",
       psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0
       and csc.get("readOnlyRootFilesystem") is True and csc.get("allowPrivilegeEscalation") is False
       and csc.get("capabilities", {}).get("drop") == ["ALL"], (psc, csc))
    ok("probes: readiness GET /readyz, liveness GET /healthz",
       c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz"
       and c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz")
    res = c.get("resources", {})
    ok("resources: cpu and memory requests, a memory limit",
       {"cpu", "memory"} <= set(res.get("requests", {})) and "memory" in res.get("limits", {}), res)
    env = c.get("env", [])
    ok("only the daemon's variables: %s" % sorted(e["name"] for e in env),
       {e["name"] for e in env} <= DAEMON_ENV, sorted({e["name"] for e in env} - DAEMON_ENV))
    ok("settings come from the environment and the config file, never from flags "
       "(no credentials in args)", c.get("args", [])[:2] == ["serve", "--config"] and len(c["args"]) == 3,
       c.get("args"))

    names = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    missing = []
    for v in pod.get("volumes", []):
        for kind, key, field in (("Secret", "secret", "secretName"), ("ConfigMap", "configMap", "name"),
                                 ("PersistentVolumeClaim", "persistentVolumeClaim", "claimName")):
            if key in v and (kind, v[key][field]) not in names and not v[key].get("optional"):
                missing.append("volume %s: %s %s" % (v["name"], kind, v[key][field]))
            elif key == "secret" and key in v and (kind, v[key][field]) in names:
                data = names[(kind, v[key][field])]
                keys = set(data.get("data", {})) | set(data.get("stringData", {}))
                missing += ["volume %s: key %s of Secret %s" % (v["name"], i["key"], v[key][field])
                            for i in v[key].get("items", []) if i["key"] not in keys]
    for e in env:
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref and not ref.get("optional"):
            s = names.get(("Secret", ref["name"]))
            if s is None or ref["key"] not in set(s.get("data", {})) | set(s.get("stringData", {})):
                missing.append("env %s: key %s of Secret %s" % (e["name"], ref["key"], ref["name"]))
    ok("every Secret, ConfigMap and claim the pod references (unless optional) is in the render",
       not missing, missing)
    tokens = names.get(("Secret", "oci2eif-tokens"), {}).get("stringData", {}).get("tokens", "")
    lines = [ln.split() for ln in tokens.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    ok("the API tokens Secret ships placeholders the daemon refuses (under 16 characters)",
       lines and all(len(f) >= 2 and "CHANGE-ME" in f[1] and len(f[1]) < 16 for f in lines), lines)
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    data = next((m for m in c["volumeMounts"] if m["mountPath"] == "/var/lib/oci2eif"), None)
    ok("a data volume at /var/lib/oci2eif", data is not None and data["name"] in volumes)
    return dep, pod, c, volumes, (volumes.get(data["name"]) if data else {})


def check_single_node(objects):
    common = check_common("single-node", objects)
    if common is None:
        return
    dep, pod, c, volumes, data = common
    names = {e["name"] for e in c.get("env", [])}
    check("single-node: one replica, strategy Recreate",
          dep["spec"].get("replicas") == 1 and dep["spec"].get("strategy") == {"type": "Recreate"},
          dep["spec"].get("strategy"))
    pvcs = {p["metadata"]["name"] for p in by_kind(objects, "PersistentVolumeClaim")}
    check("single-node: the data dir is on a PersistentVolumeClaim of the render",
          data.get("persistentVolumeClaim", {}).get("claimName") in pvcs, (data, pvcs))
    check("single-node: SQLite and local storage: no database URL, no object store",
          not names & {"OCI2EIF_DATABASE", "OCI2EIF_OBJECT_STORE"}, names)
    check("single-node: no autoscaler", not by_kind(objects, "HorizontalPodAutoscaler"))
    svc = one(objects, "Service")
    check("single-node: the Service keeps a not-ready pod reachable (DELETE on a full disk)",
          svc is not None and svc["spec"].get("publishNotReadyAddresses") is True)


def env_source(c, name):
    return next((e for e in c.get("env", []) if e["name"] == name), {})


def check_scale_out(objects):
    common = check_common("scale-out", objects)
    if common is None:
        return
    dep, pod, c, volumes, data = common
    labels = dep["spec"]["template"]["metadata"]["labels"]
    spec = dep["spec"]
    check("scale-out: two replicas or more", spec.get("replicas", 1) >= 2, spec.get("replicas"))
    strategy = spec.get("strategy", {})
    check("scale-out: RollingUpdate with maxUnavailable 0",
          strategy.get("type") == "RollingUpdate"
          and strategy.get("rollingUpdate", {}).get("maxUnavailable") in (0, "0%"), strategy)
    pdb = one(objects, "PodDisruptionBudget")
    check("scale-out: a PodDisruptionBudget that selects the pods and keeps one",
          pdb is not None and pdb["apiVersion"] == "policy/v1"
          and selects(pdb["spec"]["selector"]["matchLabels"], labels)
          and (pdb["spec"].get("minAvailable", 0) >= 1 or "maxUnavailable" in pdb["spec"]), pdb)
    hpa = one(objects, "HorizontalPodAutoscaler")
    metrics = (hpa or {}).get("spec", {}).get("metrics", [])
    on_depth = [m for m in metrics if m.get("type") in ("External", "Pods")
                and m[m["type"].lower()]["metric"]["name"] == "oci2eif_queue_depth"]
    check("scale-out: an autoscaling/v2 HPA on the Deployment, on the metric oci2eif_queue_depth",
          hpa is not None and hpa["apiVersion"] == "autoscaling/v2"
          and hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                                "name": dep["metadata"]["name"]}
          and hpa["spec"].get("minReplicas", 1) >= 2 and hpa["spec"]["maxReplicas"] >= hpa["spec"]["minReplicas"]
          and len(on_depth) == 1, hpa)
    empty = {n: v["emptyDir"] for n, v in volumes.items() if "emptyDir" in v}
    check("scale-out: every emptyDir has a sizeLimit", empty and all("sizeLimit" in e for e in empty.values()), empty)
    check("scale-out: the data dir (scratch, local cache) is an emptyDir, no claim",
          "emptyDir" in data and not by_kind(objects, "PersistentVolumeClaim"), data)
    secrets = {s["metadata"]["name"]: s for s in by_kind(objects, "Secret")}

    def from_secret(name):
        ref = env_source(c, name).get("valueFrom", {}).get("secretKeyRef")
        s = secrets.get(ref["name"]) if ref else None
        return s.get("stringData", {}).get(ref["key"]) if s else None
    url = from_secret("OCI2EIF_DATABASE")
    check("scale-out: OCI2EIF_DATABASE from a Secret, a postgresql:// placeholder that cannot connect",
          url is not None and url.startswith("postgresql://") and "CHANGE-ME" in url and ".invalid" in url, url)
    keys = [from_secret(n) for n in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")]
    check("scale-out: the S3 keys from a Secret, placeholders",
          all(k is not None and "CHANGE-ME" in k for k in keys), keys)
    store = env_source(c, "OCI2EIF_OBJECT_STORE").get("value", "")
    check("scale-out: OCI2EIF_OBJECT_STORE is s3://BUCKET[/PREFIX], the endpoint and region set",
          store.startswith("s3://") and len(store) > 5
          and env_source(c, "OCI2EIF_S3_ENDPOINT").get("value", "").startswith("https://")
          and env_source(c, "OCI2EIF_S3_REGION").get("value"), store)
    check("scale-out: OCI2EIF_REPLICA_ID is the pod's name",
          env_source(c, "OCI2EIF_REPLICA_ID").get("valueFrom") == {"fieldRef": {"fieldPath": "metadata.name"}})
    docker = volumes.get("docker", {}).get("secret", {})
    reg = secrets.get(docker.get("secretName"), {})
    try:
        auths = json.loads(reg.get("stringData", {}).get(".dockerconfigjson", ""))["auths"]
    except (ValueError, KeyError, TypeError):
        auths = None
    mount = next((m for m in c["volumeMounts"] if m["name"] == "docker"), {})
    check("scale-out: registry credentials: a dockerconfigjson Secret with placeholder auths, "
          "mounted as config.json at DOCKER_CONFIG",
          reg.get("type") == "kubernetes.io/dockerconfigjson" and auths
          and all(h.endswith(".invalid") for h in auths)
          and docker.get("items") == [{"key": ".dockerconfigjson", "path": "config.json"}]
          and mount.get("mountPath") == env_source(c, "DOCKER_CONFIG").get("value"), (reg, docker, mount))


def main():
    build_dir = os.path.abspath(sys.argv[1])
    absent = [t for t in ("kubectl", "node", "npm") if not shutil.which(t)]
    if absent:
        print("kubernetes_test: SKIP: %s not on PATH (scripts/install-deps.sh installs Debian's "
              "kubernetes-client, nodejs and npm)" % ", ".join(absent))
        return 77
    kubectl = re.search(r"v\d+\.\d+\.\d+", run(["kubectl", "version", "--client"]).stdout)
    print("kubernetes_test: kubectl %s, node %s" % (kubectl and kubectl.group(0),
                                                   run(["node", "--version"]).stdout.strip()), flush=True)
    node_modules = install_packages(build_dir)
    rendered = {overlay: render(overlay) for overlay in ("single-node", "scale-out")}
    if node_modules:
        for overlay, objects in rendered.items():
            if objects is not None:
                rc, out = validate(node_modules, objects)
                print("".join("    " + line for line in out.splitlines(True)), end="")
                check("%s: every object passes its schema and has no unknown field" % overlay, rc == 0)
        if rendered["scale-out"] is not None:
            self_test(node_modules, rendered["scale-out"])
    if rendered["single-node"] is not None:
        check_single_node(rendered["single-node"])
    if rendered["scale-out"] is not None:
        check_scale_out(rendered["scale-out"])
    return summary()


if __name__ == "__main__":
    sys.exit(main())
