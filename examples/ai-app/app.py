#!/usr/bin/env python3
"""The support assistant: GET /answer?user=U&id=c07&q=... answers with the prompt template ferry serves the user
(the support-prompt flag, over OFREP) and the model, and counts its answers per variant for Prometheus on
/metrics: answers_total and answers_known_total (an answer other than "I do not know"), labelled with the
variant the user was served. Without OFREP_URL and OFREP_TOKEN it uses the flags file's default."""
import json
import os
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Lock
from urllib.parse import parse_qs, urlparse

import model
import yaml

FLAG = "support-prompt"
answers, known, lock = Counter(), Counter(), Lock()


def prompt_for(user: str) -> tuple[str, str]:
    """The variant and template ferry serves user; the file's default when ferry cannot be asked."""
    url, token = os.environ.get("OFREP_URL"), os.environ.get("OFREP_TOKEN")
    if url and token:
        req = urllib.request.Request(f"{url}/ofrep/v1/evaluate/flags/{FLAG}", method="POST",
                                     data=json.dumps({"context": {"targetingKey": user}}).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                res = json.load(resp)
            if "value" in res:
                return res["variant"], res["value"]
        except OSError:
            pass
    flag = yaml.safe_load(open(".ferry/flags.yaml"))["flags"][FLAG]
    return flag["default"], flag["variants"][flag["default"]]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/healthz":
            return self.reply(200, "ok\n")
        if u.path == "/metrics":
            with lock:
                lines = ["# TYPE answers_total counter", "# TYPE answers_known_total counter"]
                for v in sorted(answers):
                    lines += [f'answers_total{{variant="{v}"}} {answers[v]}', f'answers_known_total{{variant="{v}"}} {known[v]}']
            return self.reply(200, "\n".join(lines) + "\n")
        if u.path == "/answer":
            q = {k: v[0] for k, v in parse_qs(u.query).items()}
            variant, template = prompt_for(q.get("user", "anonymous"))
            text = model.answer(template.replace("{{id}}", q.get("id", "")).replace("{{question}}", q.get("q", "")))
            with lock:
                answers[variant] += 1
                known[variant] += text != "I do not know."
            return self.reply(200, text + "\n")
        self.reply(404, "not found\n")

    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
