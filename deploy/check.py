"""What the schemas cannot see: that deploy/ agrees with the server and with itself.

Run by deploy/validate (needs PyYAML). Prints every disagreement and exits 1 if there is one:
settings that the server does not have, a grace period shorter than the drain, probes on the
wrong port, selectors that match nothing, references to services, volumes, ConfigMaps or files
that do not exist, and a Dockerfile without its non-root user or its gRPC health check.
"""

import pathlib
import re
import json
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
PROBLEMS = []

# Settings of the CLI (clients/jiebang-cli), not of the server; the image sets one of them.
CLI_SETTINGS = {"JIEBANG_SERVER", "JIEBANG_TOKEN", "JIEBANG_CONFIG_DIR", "JIEBANG_ADMIN_PASSWORD"}
# PostgreSQL's default max_connections (100) less its superuser_reserved_connections (3).
POSTGRES_CONNECTIONS = 97


def problem(where, text):
    PROBLEMS.append(f"{where}: {text}")


def server_settings():
    """Every JIEBANG_* setting of services/jiebang-server/src/config.rs, plus the OTLP one."""
    source = (ROOT / "services/jiebang-server/src/config.rs").read_text()
    fields = set(re.findall(r"///\s*`(JIEBANG_[A-Z_]+)`", source))
    if len(fields) < 20:
        problem("config.rs", f"found only {len(fields)} documented settings; has its format changed?")
    # `--config` is read from JIEBANG_CONFIG by main.rs.
    return fields | {"JIEBANG_CONFIG", "OTEL_EXPORTER_OTLP_ENDPOINT"}


def seconds(duration, where):
    """A humantime duration of the kinds used here (`20s`, `1m30s`, `500ms`) in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+)\s*(ms|s|m|h)", str(duration))
    if not parts or "".join(n + u for n, u in parts) != str(duration).replace(" ", ""):
        problem(where, f"cannot read the duration {duration!r}")
        return 0.0
    return sum(int(n) * units[u] for n, u in parts)


def load_all(path):
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def check_names(names, known, where):
    for name in names:
        if name.startswith(("JIEBANG_", "OTEL_")) and name not in known:
            problem(where, f"{name} is not a setting of jiebang-server (services/jiebang-server/src/config.rs)")


def check_readme(settings):
    readme = (DEPLOY / "README.md").read_text()
    for name in sorted(settings - {"JIEBANG_CONFIG"}):
        if not re.search(rf"^\|\s*`{name}`\s*\|", readme, re.M):
            problem("deploy/README.md", f"the configuration table has no row for {name}")
    for name in set(re.findall(r"^\|\s*`((?:JIEBANG|OTEL)_[A-Z_]+)`\s*\|", readme, re.M)):
        if name not in settings | CLI_SETTINGS:
            problem("deploy/README.md", f"the table lists {name}, which nothing reads")
    if "No Docker engine" not in readme:
        problem("deploy/README.md", "must say that no Docker engine ran these files")


def check_dockerfile(settings):
    where = "deploy/Dockerfile"
    text = (DEPLOY / "Dockerfile").read_text()
    lines = re.sub(r"\\\n", " ", text).splitlines()
    instructions = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    stages = [i for i in instructions if i.upper().startswith("FROM ")]
    if len(stages) < 2:
        problem(where, "is not a multi-stage build")
    final = instructions[instructions.index(stages[-1]):]
    users = [i.split(None, 1)[1] for i in final if i.upper().startswith("USER ")]
    if not users or users[-1].split(":")[0] in ("0", "root"):
        problem(where, "the runtime stage must end as a non-root USER")
    health = [i for i in final if i.upper().startswith("HEALTHCHECK ")]
    if not health or "grpc_health_probe" not in health[-1]:
        problem(where, "the runtime stage needs a HEALTHCHECK through grpc_health_probe")
    if not any("jiebang-server" in i for i in final if i.upper().startswith("ENTRYPOINT")):
        problem(where, "the entrypoint must be jiebang-server")
    build = " ".join(i for i in instructions if "cargo build" in i)
    for needed in ("--release", "--locked", "-p jiebang-server", "-p jiebang-cli"):
        if needed not in build:
            problem(where, f"cargo build lacks {needed}")
    for source in re.findall(r"^COPY\s+(?:--chmod=\S+\s+)?(deploy/\S+)", text, re.M):
        if not (ROOT / source).exists():
            problem(where, f"copies {source}, which does not exist")
    env = " ".join(i for i in final if i.upper().startswith("ENV "))
    check_names(re.findall(r"\b([A-Z][A-Z0-9_]+)=", env), settings | CLI_SETTINGS, where)
    ignore = (ROOT / ".dockerignore").read_text().split()
    for needed in ("target", ".git"):
        if needed not in ignore:
            problem(".dockerignore", f"should leave {needed} out of the build context")


def check_compose(settings):
    where = "deploy/compose.yaml"
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose.get("services", {})
    volumes = set((compose.get("volumes") or {}).keys())
    for name, service in services.items():
        at = f"{where}: services.{name}"
        depends = service.get("depends_on") or []
        for dependency in depends if isinstance(depends, list) else depends.keys():
            if dependency not in services:
                problem(at, f"depends on {dependency}, which is not a service")
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("."):
                if not (DEPLOY / source).exists():
                    problem(at, f"mounts {source}, which does not exist")
            elif source and source not in volumes:
                problem(at, f"mounts the volume {source}, which is not declared")
        environment = service.get("environment") or {}
        if isinstance(environment, dict):
            check_names(environment.keys(), settings, at)
    server = services.get("jiebang", {})
    environment = server.get("environment") or {}
    if (server.get("deploy") or {}).get("replicas", 1) < 2:
        problem(where, "jiebang needs at least 2 replicas")
    if "true" in str(environment.get("JIEBANG_DEMO_CLOCK", "")).split(":-")[-1].lower():
        problem(where, "JIEBANG_DEMO_CLOCK must default to false")
    drain = seconds(environment.get("JIEBANG_DRAIN_TIMEOUT", "20s"), where)
    if seconds(server.get("stop_grace_period", "10s"), where) <= drain:
        problem(where, "jiebang's stop_grace_period must exceed JIEBANG_DRAIN_TIMEOUT")
    if "postgres://" not in str(environment.get("JIEBANG_DATABASE_URL", "")):
        problem(where, "the replicas must share PostgreSQL (JIEBANG_DATABASE_URL)")
    if "migrate" in services and (server.get("depends_on") or {}).get("migrate", {}).get(
        "condition"
    ) != "service_completed_successfully":
        problem(where, "the replicas must wait for the migrate service to complete")

    otlp = str(environment.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""))
    match = re.match(r"https?://([^:/]+):(\d+)", otlp)
    collector = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())
    if not match or match.group(1) not in services:
        problem(where, f"OTEL_EXPORTER_OTLP_ENDPOINT {otlp!r} is not a compose service")
    else:
        grpc = collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
        if not grpc.endswith(":" + match.group(2)):
            problem("deploy/otel-collector.yaml", f"receives OTLP on {grpc}, the servers send to {otlp}")
    for name, exporter in collector.get("exporters", {}).items():
        host = str((exporter or {}).get("endpoint", "")).split("://")[-1].split(":")[0]
        if host not in ("", "0.0.0.0") and host not in services:
            problem("deploy/otel-collector.yaml", f"exporter {name} sends to {host}, not a compose service")
    for pipeline in collector["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                if component not in collector.get(kind, {}) and component not in collector.get("connectors", {}):
                    problem("deploy/otel-collector.yaml", f"a pipeline uses {component}, which is not defined")

    envoy = yaml.safe_load((DEPLOY / "envoy.yaml").read_text())
    clusters = {c["name"]: c for c in envoy["static_resources"]["clusters"]}
    text = (DEPLOY / "envoy.yaml").read_text()
    for cluster in re.findall(r"cluster:\s*(\S+)", text):
        if cluster not in clusters:
            problem("deploy/envoy.yaml", f"routes to cluster {cluster}, which is not defined")
    for name, cluster in clusters.items():
        at = f"deploy/envoy.yaml: cluster {name}"
        if not any("grpc_health_check" in h for h in cluster.get("health_checks", [])):
            problem(at, "needs a grpc_health_check")
        options = cluster.get("typed_extension_protocol_options", {})
        if "http2_protocol_options" not in str(options):
            problem(at, "must speak HTTP/2 to the replicas")
        for group in cluster["load_assignment"]["endpoints"]:
            for endpoint in group["lb_endpoints"]:
                address = endpoint["endpoint"]["address"]["socket_address"]
                if address["address"] not in services:
                    problem(at, f"sends to {address['address']}, not a compose service")
                if address["port_value"] != 50051:
                    problem(at, "the replicas listen on 50051")
    published = " ".join(str(p) for p in services.get("envoy", {}).get("ports", []))
    for listener in envoy["static_resources"]["listeners"]:
        port = listener["address"]["socket_address"]["port_value"]
        if f":{port}" not in published:
            problem("deploy/compose.yaml", f"envoy's listener port {port} is not published")

    prometheus = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    metrics = str(environment.get("JIEBANG_METRICS_ADDR", ""))
    scraped = [c.get("port") for job in prometheus["scrape_configs"] if job["job_name"] == "jiebang"
               for c in job.get("dns_sd_configs", [])]
    if metrics and [int(metrics.rsplit(":", 1)[1])] != scraped:
        problem("deploy/prometheus.yml", f"the jiebang job scrapes port {scraped}, the replicas serve {metrics}")
    for job in prometheus["scrape_configs"]:
        hosts = [t.split(":")[0] for c in job.get("static_configs", []) for t in c["targets"]]
        hosts += [n for c in job.get("dns_sd_configs", []) for n in c["names"]]
        for host in hosts:
            if host != "localhost" and host not in services:
                problem("deploy/prometheus.yml", f"job {job['job_name']} scrapes {host}, not a compose service")


def check_kubernetes(settings):
    resources = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in load_all(path):
            resources[(doc["kind"], doc["metadata"]["name"])] = (path.name, doc)
            if "namespace" in doc["metadata"]:
                problem(f"deploy/k8s/{path.name}", "manifests stay namespace-agnostic")

    def find(kind):
        return [(f"deploy/k8s/{p}", d) for (k, _), (p, d) in resources.items() if k == kind]

    config = {}
    for where, doc in find("ConfigMap") + find("Secret"):
        data = {**(doc.get("data") or {}), **(doc.get("stringData") or {})}
        check_names(data.keys(), settings, where)
        config.update(data)
    if str(config.get("JIEBANG_DEMO_CLOCK", "false")).lower() != "false":
        problem("deploy/k8s/configmap.yaml", "JIEBANG_DEMO_CLOCK must be false in production")
    listen_port = int(str(config.get("JIEBANG_LISTEN_ADDR", "127.0.0.1:50051")).rsplit(":", 1)[1])
    if str(config.get("JIEBANG_LISTEN_ADDR", "")).startswith("127."):
        problem("deploy/k8s/configmap.yaml", "JIEBANG_LISTEN_ADDR must not be loopback: probes reach the pod IP")

    deployments = find("Deployment")
    if len(deployments) != 1:
        problem("deploy/k8s", "expected one Deployment")
        return
    where, deployment = deployments[0]
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    if spec.get("replicas", 1) < 2:
        problem(where, "replicas must be at least 2")
    if any(labels.get(k) != v for k, v in spec["selector"]["matchLabels"].items()):
        problem(where, "the selector does not match the pod's labels")

    def pod_checks(where, pod):
        security = pod.get("securityContext", {})
        if not security.get("runAsNonRoot") or security.get("runAsUser", 0) == 0:
            problem(where, "pods must run as a non-root user")
        for container in pod["containers"]:
            at = f"{where}: container {container['name']}"
            for ref in container.get("envFrom", []):
                for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if key in ref and (kind, ref[key]["name"]) not in resources:
                        problem(at, f"uses the {kind} {ref[key]['name']}, which is not in deploy/k8s")
            check_names([e["name"] for e in container.get("env", [])], settings, at)
            if not container.get("securityContext", {}).get("readOnlyRootFilesystem"):
                problem(at, "should have a read-only root filesystem")
            if "requests" not in container.get("resources", {}):
                problem(at, "needs resource requests")
        for volume in pod.get("volumes", []):
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim and ("PersistentVolumeClaim", claim) not in resources:
                problem(where, f"mounts the claim {claim}, which is not in deploy/k8s")

    pod_checks(where, pod)
    container = pod["containers"][0]
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if listen_port not in ports.values():
        problem(where, f"the container does not expose JIEBANG_LISTEN_ADDR's port {listen_port}")
    metrics = str(config.get("JIEBANG_METRICS_ADDR", ""))
    if metrics:
        port = int(metrics.rsplit(":", 1)[1])
        if port not in ports.values():
            problem(where, f"the container does not expose JIEBANG_METRICS_ADDR's port {port}")
        annotated = spec["template"]["metadata"].get("annotations", {}).get("prometheus.io/port")
        if annotated is not None and annotated != str(port):
            problem(where, f"prometheus.io/port says {annotated}, the metrics are on {port}")
    for probe in ("readinessProbe", "livenessProbe"):
        grpc = container.get(probe, {}).get("grpc")
        if not grpc:
            problem(where, f"{probe} must be a gRPC probe on the health service")
        elif grpc.get("port") != listen_port:
            problem(where, f"{probe} probes port {grpc.get('port')}, the server listens on {listen_port}")
    drain = seconds(config.get("JIEBANG_DRAIN_TIMEOUT", "20s"), "deploy/k8s/configmap.yaml")
    pause = 0
    command = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    if command[:1] == ["sleep"]:
        pause = float(command[1])
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace <= pause + drain:
        problem(where, f"terminationGracePeriodSeconds {grace} must exceed preStop {pause}s + drain {drain}s")

    jobs = find("Job")
    if not jobs:
        problem("deploy/k8s", "needs the migration Job")
    for job_where, job in jobs:
        job_pod = job["spec"]["template"]["spec"]
        pod_checks(job_where, job_pod)
        if job_pod["containers"][0]["image"] != container["image"]:
            problem(job_where, "must run the same image as the Deployment")
        if "jiebang-migrate" not in job_pod["containers"][0].get("command", []):
            problem(job_where, "must run jiebang-migrate")
        job_labels = job["spec"]["template"]["metadata"].get("labels", {})
        if all(job_labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()):
            problem(job_where, "its pods would match the Deployment's selector")

    services = find("Service")
    if not services:
        problem("deploy/k8s", "needs a Service")
    for service_where, service in services:
        if any(labels.get(k) != v for k, v in service["spec"]["selector"].items()):
            problem(service_where, "its selector does not match the Deployment's pods")
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if target not in ports and target not in ports.values():
                problem(service_where, f"targets {target}, which the container does not expose")

    hpas = find("HorizontalPodAutoscaler")
    if not hpas:
        problem("deploy/k8s", "needs a HorizontalPodAutoscaler")
    for hpa_where, hpa in hpas:
        target = hpa["spec"]["scaleTargetRef"]
        if (target["kind"], target["name"]) != ("Deployment", deployment["metadata"]["name"]):
            problem(hpa_where, "does not scale the Deployment")
        if hpa["spec"].get("minReplicas", 1) < 2:
            problem(hpa_where, "minReplicas must be at least 2")
        pool = int(config.get("JIEBANG_DB_MAX_CONNECTIONS", 16))
        job_pool = max(
            [int(e["value"]) for _, j in jobs for c in j["spec"]["template"]["spec"]["containers"]
             for e in c.get("env", []) if e["name"] == "JIEBANG_DB_MAX_CONNECTIONS"] or [pool]
        )
        if hpa["spec"]["maxReplicas"] * pool + job_pool > POSTGRES_CONNECTIONS:
            problem(hpa_where, f"maxReplicas × {pool} connections + the Job's {job_pool} exceed "
                               f"PostgreSQL's default {POSTGRES_CONNECTIONS}")

    pdbs = find("PodDisruptionBudget")
    if not pdbs:
        problem("deploy/k8s", "needs a PodDisruptionBudget")
    for pdb_where, pdb in pdbs:
        if any(labels.get(k) != v for k, v in pdb["spec"]["selector"]["matchLabels"].items()):
            problem(pdb_where, "its selector does not match the Deployment's pods")
        if pdb["spec"].get("minAvailable", 0) >= spec.get("replicas", 1):
            problem(pdb_where, "minAvailable must leave room to evict a replica")


def check_dashboard():
    """The Grafana dashboard parses and queries only metrics the server exports."""
    where = "deploy/grafana/jiebang.json"
    try:
        with open(ROOT / where, encoding="utf-8") as f:
            dashboard = json.load(f)
    except (OSError, ValueError) as e:
        problem(where, f"cannot be read as JSON: {e}")
        return
    source = (ROOT / "services/jiebang-server/src/metrics.rs").read_text(encoding="utf-8")
    exported = set(re.findall(r'"(jiebang_[a-z_]+)"', source))
    if not dashboard.get("panels"):
        problem(where, "has no panels")
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            for name in re.findall(r"\b(jiebang_[a-z_]+)", target.get("expr", "")):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                if name not in exported and base not in exported:
                    problem(where, f"panel {panel.get('title')!r} queries {name}, "
                                   "which jiebang-server does not export")


def main():
    settings = server_settings()
    check_dashboard()
    check_readme(settings)
    check_dockerfile(settings)
    check_compose(settings)
    check_kubernetes(settings)
    for line in PROBLEMS:
        print(f"  {line}")
    if PROBLEMS:
        print(f"deploy/check.py: {len(PROBLEMS)} problem(s)")
        return 1
    print(f"deploy/check.py: consistent ({len(settings)} server settings known)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
