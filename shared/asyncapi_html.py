"""An AsyncAPI document as one self-contained HTML page (GET /asyncapi): what a person reads
before writing a NATS client. Rendered here rather than by a script from a CDN, so the page
works on a network without internet access; the JSON stays the reference for tools."""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;margin-top:2.5rem}
code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:#f6f8fa;padding:.75rem;overflow:auto}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:.35rem .5rem;
vertical-align:top;text-align:left}th{background:#f0f0f0}
.send{color:#8a4b00}.receive{color:#0a5a2a}details{margin:.4rem 0}summary{cursor:pointer}
"""


def _ref_name(ref: dict[str, Any]) -> str:
    return str(ref.get("$ref", "")).rsplit("/", 1)[-1]


def _json(value: Any) -> str:
    return f"<pre>{escape(json.dumps(value, indent=2, ensure_ascii=False))}</pre>"


def render(doc: dict[str, Any]) -> str:
    info = doc.get("info", {})
    channels = doc.get("channels", {})
    components = doc.get("components", {})
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(info.get('title', 'AsyncAPI'))}: NATS</title><style>{_STYLE}</style>",
        "</head><body>",
        f"<h1>{escape(info.get('title', ''))} — NATS side</h1>",
        f"<p>AsyncAPI {escape(doc.get('asyncapi', ''))}, version "
        f"{escape(info.get('version', ''))}. Machine-readable: "
        "<a href='asyncapi.json'>asyncapi.json</a>; HTTP side: <a href='docs'>docs</a>.</p>",
        f"<p>{escape(info.get('description', ''))}</p>",
        "<h2>Servers and security</h2><table><tr><th>server</th><th>host</th><th>protocol</th></tr>",
    ]
    for name, server in doc.get("servers", {}).items():
        out.append(
            f"<tr><td>{escape(name)}</td><td><code>{escape(server.get('host', ''))}</code></td>"
            f"<td>{escape(server.get('protocol', ''))}</td></tr>"
        )
    out.append("</table><table><tr><th>scheme</th><th>type</th><th>what it is</th></tr>")
    for name, scheme in components.get("securitySchemes", {}).items():
        out.append(
            f"<tr><td>{escape(name)}</td><td>{escape(scheme.get('type', ''))}</td>"
            f"<td>{escape(scheme.get('description', ''))}</td></tr>"
        )
    out.append(
        "</table><h2>Operations</h2><table><tr><th>operation</th><th>action</th>"
        "<th>subject</th><th>message</th><th>reply</th><th>what it does</th></tr>"
    )
    for op_id, op in doc.get("operations", {}).items():
        channel = channels.get(_ref_name(op["channel"]), {})
        reply = op.get("reply")
        reply_text = ", ".join(_ref_name(m) for m in reply.get("messages", [])) if reply else ""
        out.append(
            f"<tr><td><code>{escape(op_id)}</code></td>"
            f"<td class='{escape(op['action'])}'>{escape(op['action'])}</td>"
            f"<td><code>{escape(str(channel.get('address')))}</code></td>"
            f"<td>{escape(', '.join(_ref_name(m) for m in op.get('messages', [])))}</td>"
            f"<td>{escape(reply_text)}</td><td>{escape(op.get('summary', ''))}</td></tr>"
        )
    out.append("</table><h2>Channels</h2>")
    for channel_id, channel in channels.items():
        out.append(
            f"<h3 id='channel-{escape(channel_id)}'><code>{escape(str(channel.get('address')))}"
            f"</code></h3><p>{escape(channel.get('description', ''))}</p>"
        )
        for pname, param in channel.get("parameters", {}).items():
            out.append(
                f"<p><code>{{{escape(pname)}}}</code>: {escape(param.get('description', ''))}</p>"
            )
    out.append("<h2>Messages</h2>")
    for name, message in components.get("messages", {}).items():
        out.append(
            f"<h3 id='message-{escape(name)}'>{escape(name)}</h3>"
            f"<p>{escape(message.get('summary', message.get('title', '')))}</p>"
        )
        if "headers" in message:
            out.append(f"<details><summary>headers</summary>{_json(message['headers'])}</details>")
        out.append(f"<details><summary>payload</summary>{_json(message['payload'])}</details>")
        for example in message.get("examples", []):
            out.append(
                f"<details><summary>example: {escape(example.get('name', ''))}</summary>"
                f"{_json(example.get('payload'))}</details>"
            )
    out.append("<h2>Schemas</h2>")
    for name, schema in components.get("schemas", {}).items():
        out.append(
            f"<details id='schema-{escape(name)}'><summary>{escape(name)}</summary>"
            f"{_json(schema)}</details>"
        )
    out.append("</body></html>")
    return "\n".join(out)
