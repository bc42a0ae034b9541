"""Change one default in contract/ and everything follows.

contract/CMakeLists.txt copies contract/backend_env.c and names.c with one
edit each (EXO_PARTITION_PREMAKE's default, EXO_HTTP_ADDR's port, the
Postgres image, PGDATA) and links the copies into exo-backend, exo-install
and the controller's Deployment builder in place of exocontract, without
compiling their code again. Here the edited values must show in the
backend's --help and configuration, the controller's Deployment and
Service, the Kubernetes manifests and the Compose file, and the unedited
build must show the old ones: the values live in contract/ and nowhere
else."""
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

BIN = Path(os.environ.get("EXO_BIN_DIR", "build/contract"))
PLAIN = {
    "backend": os.environ.get("EXO_BACKEND", "build/backend/exo-backend"),
    "install": os.environ.get("EXO_INSTALL", "build/installer/exo-install"),
    "config": str(BIN / "contract_backend_config"),
    "controller": str(BIN / "contract_controller_objects"),
}
FOLLOW = {
    "backend": str(BIN / "exo-backend-follow"),
    "install": str(BIN / "exo-install-follow"),
    "config": str(BIN / "contract_backend_config_follow"),
    "controller": str(BIN / "contract_controller_objects_follow"),
}


def pair(name):
    old, new = os.environ[name].split(" ")
    return old, new


PREMAKE = pair("FOLLOW_PREMAKE")
PORT = pair("FOLLOW_PORT")
IMAGE = pair("FOLLOW_IMAGE")
PGDATA = pair("FOLLOW_PGDATA")


def run(cmd, stdin=None, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("EXO_")}
    e.update(env or {})
    p = subprocess.run(cmd, input=stdin, env=e, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def objects(text):
    return [d for d in yaml.safe_load_all(text) if d]


def find(docs, kind, name=None):
    for d in docs:
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name):
            return d
    raise AssertionError(f"no {kind} {name or ''}")


def env_of(deployment):
    c = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in c["env"]}


def crd_retention(crd):
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    return props["spec"]["properties"]["retention"]["properties"]


@pytest.mark.parametrize("build,i", [(PLAIN, 0), (FOLLOW, 1)], ids=["unedited", "edited"])
def test_every_program_takes_the_values_from_the_contract(build, i):
    premake, port, image, pgdata = PREMAKE[i], PORT[i], IMAGE[i], PGDATA[i]

    # The backend: --help and the configuration it loads.
    help_text = run([build["backend"], "--help"])
    line = help_text[help_text.index("EXO_PARTITION_PREMAKE"):].split("EXO_MAINTENANCE")[0]
    assert f"default {premake})" in line, help_text
    assert f"(default :{port})" in help_text
    cfg = json.loads(run([build["config"]], env={"EXO_DATABASE_DSN": "host=db"}))
    assert cfg["premake_months"] == int(premake)
    assert cfg["http_addr"] == f":{port}"

    # The Kubernetes manifests: the resource's value and the CRD's default.
    docs = objects(run([build["install"], "render"]))
    ecp = find(docs, "ExoControlPlane")
    assert ecp["spec"]["retention"]["premakeMonths"] == int(premake)
    assert crd_retention(find(docs, "CustomResourceDefinition"))["premakeMonths"]["default"] == int(premake)
    pg = find(docs, "StatefulSet", "exo-postgres")["spec"]["template"]["spec"]["containers"][0]
    assert pg["image"] == image
    assert {"name": "PGDATA", "value": pgdata} in pg["env"]

    # The controller: the Deployment for the rendered resource, and for one
    # that leaves the field to the controller's default.
    for spec_premake in (True, False):
        r = json.loads(json.dumps(ecp))
        if not spec_premake:
            del r["spec"]["retention"]["premakeMonths"]
        out = json.loads(run([build["controller"]], stdin=json.dumps(r)))
        env = env_of(out["deployment"])
        assert env["EXO_PARTITION_PREMAKE"] == premake
        assert env["EXO_HTTP_ADDR"] == f":{port}"
        c = out["deployment"]["spec"]["template"]["spec"]["containers"][0]
        assert c["ports"][0]["containerPort"] == int(port)
        assert out["service"]["spec"]["ports"][0]["port"] == int(port)

    # The Compose file.
    text = run([build["install"], "render", "--format", "compose"])
    compose = yaml.safe_load(text)
    backend = compose["services"]["backend"]
    assert str(backend["environment"]["EXO_PARTITION_PREMAKE"]) == premake
    assert backend["environment"]["EXO_HTTP_ADDR"] == f":{port}"
    assert backend["ports"][0].endswith(f":{port}")
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == image
    assert postgres["environment"]["PGDATA"] == pgdata

    # The other build's values are nowhere.
    other = IMAGE[1 - i]
    assert other not in text and other not in json.dumps(docs)
