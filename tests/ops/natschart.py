"""The nats.conf the official NATS Helm chart (1.x) makes from deploy/nats/values.yaml, rebuilt
here because helm and the chart are not available offline: the chart's `files/config/*.yaml`
templates give a base document, `merge` values are deep-merged over it, and `nats.formatConfig`
prints it as sorted JSON, turns `…$include` keys into include directives and unquotes
`<< … >>`. Only the parts of the chart our values use are reproduced."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

RELEASE = "nats"  # the release name docs/operations.md installs with


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Helm's mergeOverwrite: maps merge key by key, anything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def config_document(values: dict[str, Any]) -> dict[str, Any]:
    config = values.get("config", {})
    doc: dict[str, Any] = {
        "server_name": "<< $SERVER_NAME >>",
        "lame_duck_grace_period": "10s",
        "lame_duck_duration": "30s",
        "pid_file": "/var/run/nats/nats.pid",
        "port": config.get("nats", {}).get("port", 4222),
    }
    cluster = config.get("cluster", {})
    if cluster.get("enabled"):
        port = cluster.get("port", 6222)
        routes = [
            f"nats://{RELEASE}-{i}.{RELEASE}-headless:{port}"
            for i in range(int(cluster.get("replicas", 3)))
        ]
        block = {
            "name": RELEASE,
            "port": port,
            "no_advertise": cluster.get("noAdvertise", True),
            "routes": routes,
        }
        doc["cluster"] = deep_merge(block, cluster.get("merge", {}))
    monitor = config.get("monitor", {"enabled": True})
    if monitor.get("enabled", True):
        doc["http_port"] = monitor.get("port", 8222)
    jetstream = config.get("jetstream", {})
    if jetstream.get("enabled"):
        block = {}
        memory = jetstream.get("memoryStore", {})
        if memory.get("enabled"):
            if memory.get("maxSize"):
                block["max_memory_store"] = f"<< {memory['maxSize']} >>"
        else:
            block["max_memory_store"] = 0
        files = jetstream.get("fileStore", {"enabled": True})
        if files.get("enabled", True):
            block["store_dir"] = files.get("dir", "/data")
            if files.get("maxSize"):
                block["max_file_store"] = f"<< {files['maxSize']} >>"  # the chart adds << >>
            elif files.get("pvc", {}).get("enabled", True):
                block["max_file_store"] = f"<< {files.get('pvc', {}).get('size', '10Gi')} >>"
        else:
            block["max_file_store"] = 0
        doc["jetstream"] = deep_merge(block, jetstream.get("merge", {}))
    return deep_merge(doc, config.get("merge", {}))


def render(values: dict[str, Any]) -> str:
    """nats.conf as the chart's ConfigMap holds it."""
    text = json.dumps(config_document(values), indent=2, sort_keys=True, ensure_ascii=False)
    text = re.sub(r'".*\$include": "(.*)",?', r"include \1;", text)
    return re.sub(r'"<<\s+(.*?)\s+>>"', r"\1", text)
