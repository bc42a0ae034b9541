"""images/Dockerfile and .dockerignore, checked without a Docker daemon: the
file parses, every stage and file it names exists, the images run as the
non-root user the pod specs expect, the binaries land where the templates
look for them, and the version comes from CMakeLists.txt alone."""
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

import dockerfile as df

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "images" / "Dockerfile"
TARGETS = ("exo-backend", "exo-controller")


@pytest.fixture(scope="module")
def parsed():
    return df.parse(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def stages(parsed):
    return {s.name: s for s in parsed[1]}


@pytest.fixture(scope="module")
def ignore():
    return df.read_dockerignore((ROOT / ".dockerignore").read_text())


def shared_value(field):
    """A value of contract/names.c (`.backend_uid = 65532`)."""
    m = re.search(r"\." + field + r"\s*=\s*(\"([^\"]*)\"|(\d+))", (ROOT / "contract/names.c").read_text())
    assert m, f"contract/names.c has no .{field}"
    return m.group(2) if m.group(2) is not None else int(m.group(3))


def env_default(name):
    """The default of a backend variable in contract/backend_env.c."""
    m = re.search(r'"' + name + r'"[^}]*\.def = "([^"]*)"', (ROOT / "contract/backend_env.c").read_text())
    assert m, f"contract/backend_env.c has no default for {name}"
    return m.group(1)


def project_version():
    m = re.search(r"^project\(\w+ VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text(), re.M)
    return m.group(1)


def chain(stages, name):
    """The stage and the stages it is built FROM, nearest first."""
    out = []
    while name in stages:
        out.append(stages[name])
        name = stages[name].base
    return out


def last(stages, name, cmd):
    for s in chain(stages, name):
        found = [i for i in s.instructions if i.cmd == cmd]
        if found:
            return found[-1]
    return None


def exec_form(ins):
    import json
    return json.loads(ins.args)


def test_parses_with_known_instructions_and_unique_stage_names(parsed):
    _, stages = parsed
    names = [s.name for s in stages if s.name]
    assert len(names) == len(set(names)), names
    assert set(TARGETS) <= set(names)


def test_bases_are_earlier_stages_or_pinned_images(parsed):
    global_args, stages = parsed
    defaults = {}
    for a in global_args:
        k, _, v = a.args.partition("=")
        defaults[k] = v
    seen = set()
    for s in stages:
        base = s.base
        m = re.fullmatch(r"\$\{?(\w+)\}?", base)
        if m:
            assert m.group(1) in defaults, f"line {s.line}: FROM ${m.group(1)} has no global ARG default"
            base = defaults[m.group(1)]
        if base not in seen:
            assert ":" in base and not base.endswith(":latest"), \
                f"line {s.line}: base image {base} must be pinned to a tag other than latest"
            assert base.split(":")[0] in ("debian", "gcr.io/distroless/base-debian12"), base
        if s.name:
            seen.add(s.name)


def test_copy_from_names_an_earlier_stage(parsed):
    _, stages = parsed
    earlier = set()
    for s in stages:
        for ins in s.instructions:
            if ins.cmd in ("COPY", "ADD"):
                flags, _, _ = df.copy_parts(ins.args)
                if "from" in flags:
                    assert flags["from"] in earlier, f"line {ins.line}: --from={flags['from']} is not an earlier stage"
        if s.name:
            earlier.add(s.name)


def test_context_sources_exist_and_are_not_dockerignored(parsed, ignore):
    _, stages = parsed
    n = 0
    for s in stages:
        for ins in s.instructions:
            if ins.cmd not in ("COPY", "ADD"):
                continue
            flags, sources, _ = df.copy_parts(ins.args)
            if "from" in flags:
                continue
            for src in sources:
                assert not re.match(r"[a-z]+://", src), f"line {ins.line}: ADD from a URL"
                p = (ROOT / src).resolve()
                assert p == ROOT or ROOT in p.parents, f"line {ins.line}: {src} is outside the context"
                assert p.exists(), f"line {ins.line}: {src} does not exist in the repository"
                rel = os.path.relpath(p, ROOT)
                assert rel == "." or not df.ignored(ignore, rel), f"line {ins.line}: {src} is in .dockerignore"
                n += 1
    assert n, "no COPY from the build context"


def test_variables_used_are_declared(parsed):
    global_args, stages = parsed
    for s in stages:
        declared = set()
        for st in reversed(chain({x.name: x for x in stages if x.name}, s.name)) if s.name else [s]:
            declared |= df.arg_names(st.instructions)
        for ins in s.instructions:
            for v in re.findall(r"\$\{(\w+)", ins.args):
                assert v in declared, f"line {ins.line}: ${{{v}}} used but no ARG/ENV {v} in stage {s.name}"


def test_dockerignore_lets_in_every_directory_cmake_configures(ignore):
    top = (ROOT / "CMakeLists.txt").read_text()
    dirs = re.findall(r"^\s*add_subdirectory\((\S+)\)", top, re.M)
    assert dirs
    for d in dirs:
        if d == "e2e":  # configured only with EXO_E2E=ON; the image passes OFF
            continue
        assert not df.ignored(ignore, d + "/CMakeLists.txt"), f"{d}/ is left out of the build context"
    for f in ("CMakeLists.txt", "cmake/ExoTest.cmake", "cmake/EmbedFiles.cmake",
              "lib/version.h.in", "templates/namespace.yaml", "backend/main.c"):
        assert not df.ignored(ignore, f), f
    for f in ("build/CMakeCache.txt", "e2e/sandbox/.bin/sandbox", ".git/HEAD", "docs/index.md"):
        assert df.ignored(ignore, f), f"{f} would be sent to the daemon"


def test_builder_configures_without_e2e_and_checks_the_version(stages):
    text = " ".join(i.args for i in stages["builder"].instructions)
    assert "-DEXO_E2E=OFF" in text
    assert 'option(EXO_E2E' in (ROOT / "CMakeLists.txt").read_text()
    assert "build/generated/version.h" in text and "EXO_VERSION" in text


@pytest.mark.parametrize("target,subdir", [("exo-backend", "backend"), ("exo-controller", "controller")])
def test_each_target_builds_only_its_binary(stages, target, subdir):
    final = stages[target]
    copies = [df.copy_parts(i.args) for i in final.instructions if i.cmd == "COPY"]
    binaries = [(f, s, d) for f, s, d in copies if f.get("from")]
    assert len(binaries) == 1, f"{target}: one COPY --from of the binary"
    flags, (src,), dest = binaries[0]
    assert src == f"/src/build/{subdir}/{target}"
    assert dest == f"/usr/local/bin/{target}"
    build = " ".join(i.args for i in stages[flags["from"]].instructions if i.cmd == "RUN")
    targets = re.findall(r"--target\s+(\S+)", build)
    assert targets == [target], f"{flags['from']} builds {targets}"
    cml = ROOT / subdir / "CMakeLists.txt"
    if not cml.exists():
        pytest.skip(f"{subdir}/ is not on this branch yet: cannot check that CMake has target {target}")
    assert re.search(r"add_executable\(" + re.escape(target) + r"\s", cml.read_text())


@pytest.mark.parametrize("target", TARGETS)
def test_runs_as_numeric_non_root_user(stages, target):
    user = last(stages, target, "USER")
    assert user, f"{target}: no USER"
    uid, _, gid = user.args.partition(":")
    assert uid.isdigit() and int(uid) != 0, f"{target}: USER {user.args} is not a numeric non-root uid"
    assert int(uid) == shared_value("backend_uid") == 65532
    assert gid == uid
    # USER is the last word on who runs: nothing after it switches back.
    final = stages[target].instructions
    assert final.index(user) > max(i for i, x in enumerate(final) if x.cmd in ("RUN", "COPY"))


@pytest.mark.parametrize("target", TARGETS)
def test_entrypoint_is_the_binary_in_exec_form(stages, target):
    ep = last(stages, target, "ENTRYPOINT")
    assert exec_form(ep) == [f"/usr/local/bin/{target}"]


def test_backend_binary_and_casts_dir_match_what_the_pods_expect(stages):
    assert exec_form(last(stages, "exo-backend", "ENTRYPOINT"))[0] == shared_value("backend_binary")
    assert exec_form(last(stages, "exo-backend", "CMD")) == ["serve"]
    cast_dir = env_default("EXO_CAST_STORAGE_DIR")
    run = " ".join(i.args for i in stages["exo-backend"].instructions if i.cmd == "RUN")
    assert f"mkdir -p {cast_dir}" in run
    assert re.search(r"chown -R 65532:65532 (/var/lib/exo|" + re.escape(cast_dir) + ")", run)
    assert cast_dir.startswith("/var/lib/exo/")


def test_controller_default_args_are_the_deployments(stages):
    dep = yaml.safe_load((ROOT / "templates/controller-deployment.yaml").read_text().replace("${", "x{"))
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert exec_form(last(stages, "exo-controller", "CMD")) == c["args"]
    assert dep["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 65532
    assert c["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("target", TARGETS)
def test_oci_labels_carry_the_version_from_the_build_arg(stages, target):
    labels = " ".join(i.args for s in chain(stages, target) for i in s.instructions if i.cmd == "LABEL")
    assert 'org.opencontainers.image.version="${EXO_VERSION}"' in labels
    assert f'org.opencontainers.image.title="{target}"' in labels


def test_runtime_installs_no_build_tools(stages):
    run = " ".join(i.args for i in stages["runtime"].instructions if i.cmd == "RUN")
    assert "--no-install-recommends" in run and "rm -rf /var/lib/apt/lists" in run
    for word in ("-dev", "gcc", "cmake", "make "):
        assert word not in run, f"runtime stage installs {word}"


def test_version_is_written_nowhere_but_cmakelists():
    v = project_version()
    for p in [DOCKERFILE, ROOT / "kind/e2e.sh", ROOT / "kind/cluster.yaml", ROOT / "scripts/build-images.sh",
              *sorted((ROOT / ".github/workflows").glob("*.yml"))]:
        assert v not in p.read_text(), f"{p.relative_to(ROOT)} hard-codes the version {v}"


def apt_list(run):
    m = re.search(r"apt-get install -y --no-install-recommends (.*?)(&&|$)", run)
    return m.group(1).split()


@pytest.mark.skipif(not Path("/etc/debian_version").read_text().startswith("12")
                    if Path("/etc/debian_version").exists() else True,
                    reason="package names are checked on Debian 12, the images' base")
def test_runtime_packages_cover_every_library_the_backend_loads(stages):
    """The libraries exo-backend (as built here on Debian 12) needs, by their
    Debian package, are all installed in the runtime stage."""
    backend = os.environ.get("EXO_BACKEND")
    if not backend:
        pytest.skip("EXO_BACKEND not set (ctest sets it)")
    run = " ".join(i.args for i in stages["runtime"].instructions if i.cmd == "RUN")
    runtime = set(apt_list(run))
    needed = re.findall(r"\(NEEDED\).*\[(.+)\]", subprocess.run(
        ["readelf", "-d", backend], capture_output=True, text=True, check=True).stdout)
    assert needed
    for soname in needed:
        path = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
        m = re.search(r"^\s*" + re.escape(soname) + r" \(libc6,x86-64\) => (\S+)", path, re.M)
        assert m, soname
        # By file name: with merged /usr, dpkg knows /lib/... and ldconfig says /usr/lib/...
        owner = subprocess.run(["dpkg", "-S", "*/" + os.path.basename(os.path.realpath(m.group(1)))],
                               capture_output=True, text=True, check=True).stdout.split(":")[0]
        assert owner == "libc6" or owner in runtime, f"{soname} comes from {owner}, not installed in runtime"
    # And the builder's packages are the ones this machine builds with.
    build = apt_list(" ".join(i.args for i in stages["builder"].instructions if i.cmd == "RUN"))
    for pkg in build + sorted(runtime):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        assert "install ok installed" in r.stdout, f"{pkg}: not a package installed here"
