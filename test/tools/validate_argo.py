"""Validate Argo Events / Argo Workflows documents against the projects' API models, strictly.

The models are hera's (PyPI `hera`), generated from Argo Events' and Argo Workflows' OpenAPI
specifications. They check types and required fields but ignore unknown fields; a walk over the
validated model reports those too, so a typo such as `dataKeys:` fails as it would with
`kubectl apply --validate=strict`.

  python validate_argo.py FILE...   → prints one JSON line per document: {"file", "kind", "ok", "errors"}
"""
import json
import sys

import yaml
from pydantic import BaseModel
from hera.events.models import EventSource, Sensor
from hera.workflows.models import Workflow, WorkflowTemplate


def unknown_fields(model, raw, path="", out=None):
    """Every key of `raw` that the validated `model` has no field for, recursively (by alias or name)."""
    out = [] if out is None else out
    if type(model).__name__ == "K8SResource":
        return out  # raw JSON of an embedded object; a Sensor's Workflow is validated on its own below
    if isinstance(model, BaseModel) and isinstance(raw, dict):
        names = {}
        for name, f in type(model).model_fields.items():
            names[f.alias or name] = name
            names[name] = name
        for k, v in raw.items():
            if k not in names:
                out.append(f"{path}{k}: unknown field")
            else:
                unknown_fields(getattr(model, names[k]), v, f"{path}{k}.", out)
    elif isinstance(model, list) and isinstance(raw, list):
        for i, (m, r) in enumerate(zip(model, raw)):
            unknown_fields(m, r, f"{path}{i}.", out)
    elif isinstance(model, dict) and isinstance(raw, dict):
        for k, r in raw.items():
            if k in model:
                unknown_fields(model[k], r, f"{path}{k}.", out)
    return out


def _inline_gvr(doc):
    """Argo Events' ResourceEventSource embeds metav1.GroupVersionResource `json:",inline"`: the
    manifests say group/version/resource, while the OpenAPI-generated models (named after the
    protobuf field) expect them under groupVersionResource. Move them there, nothing else."""
    for src in ((doc.get("spec") or {}).get("resource") or {}).values():
        if isinstance(src, dict):
            gvr = {k: src.pop(k) for k in ("group", "version", "resource") if k in src}
            if gvr:
                src["groupVersionResource"] = gvr


def embedded_workflows(sensor):
    """The Workflow an argoWorkflow trigger submits, against Argo Workflows' Workflow model."""
    errors = []
    for i, t in enumerate((sensor.get("spec") or {}).get("triggers") or []):
        res = (((t.get("template") or {}).get("argoWorkflow") or {}).get("source") or {}).get("resource")
        if not isinstance(res, dict):
            continue
        where = f"spec.triggers.{i}.template.argoWorkflow.source.resource."
        if res.get("apiVersion") != "argoproj.io/v1alpha1" or res.get("kind") != "Workflow":
            errors.append(f"{where}: not an argoproj.io/v1alpha1 Workflow")
            continue
        body = {k: v for k, v in res.items() if k not in ("apiVersion", "kind")}
        try:
            errors += [where + e for e in unknown_fields(Workflow.model_validate(body), body)]
        except Exception as e:
            errors.append(where + str(e))
    return errors


MODELS = {"EventSource": EventSource, "Sensor": Sensor, "Workflow": Workflow, "WorkflowTemplate": WorkflowTemplate}

for path in sys.argv[1:]:
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if not doc:
                continue
            kind = doc.get("kind")
            out = {"file": path, "kind": kind, "ok": False, "errors": []}
            model = MODELS.get(kind)
            if doc.get("apiVersion") != "argoproj.io/v1alpha1" or model is None:
                out["errors"].append(f"not an Argo Events/Workflows kind: {doc.get('apiVersion')}/{kind}")
            else:
                if kind == "EventSource":
                    _inline_gvr(doc)
                body = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind")}
                try:
                    out["errors"] = unknown_fields(model.model_validate(body), body)
                    if kind == "Sensor":
                        out["errors"] += embedded_workflows(body)
                    out["ok"] = out["errors"] == []
                except Exception as e:  # pydantic.ValidationError: report every problem
                    out["errors"] = [str(e)]
            print(json.dumps(out))
