"""The worker image's build context is the user's project, and the Dockerfile copies only
what the context holds. (No image is built: the Dockerfile's base image lives on a registry
this test machine cannot reach, so the context and the Dockerfile are checked statically.)"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("aws_cdk")

from taskworker_infra.distribution import installed_library
from taskworker_infra.project import find_project
from taskworker_infra.worker_image import DOCKERFILE, build_context

from tests.infra.helpers import dockerfile_copy_sources
from tests.infra.user_project import make_project


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shop")
    code_root = make_project(root, "shop_worker", dependencies=["taskworker-aws[cli]", "iniconfig>=2"])
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(code_root))
        project = find_project("shop_worker")
    return build_context(project, tmp_path_factory.mktemp("staging"))


def test_every_copy_source_of_the_dockerfile_is_in_the_context(context: Path) -> None:
    sources = dockerfile_copy_sources((context / DOCKERFILE).read_text())
    assert sources == ["requirements.txt", "wheels/", "app/"]
    for source in sources:
        assert (context / source).exists(), source


def test_context_holds_the_users_package_and_declared_dependencies(context: Path) -> None:
    assert (context / "app" / "shop_worker" / "tasks.py").is_file()
    assert (context / "requirements.txt").read_text() == "iniconfig>=2\n"  # the library comes as a wheel
    assert {p.name for p in context.iterdir()} == {DOCKERFILE, "requirements.txt", "wheels", "app"}


def test_library_wheel_is_the_installed_distribution(context: Path) -> None:
    library = installed_library()
    (wheel,) = (context / "wheels").iterdir()
    assert wheel.name == "taskworker_aws-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for relative, path in library.files:
            assert archive.read(relative) == path.read_bytes(), relative
        assert "Name: taskworker-aws" in archive.read("taskworker_aws-0.1.0.dist-info/METADATA").decode()
        assert (
            "taskworker = taskworker.cli:main"
            in archive.read("taskworker_aws-0.1.0.dist-info/entry_points.txt").decode()
        )
        assert not any(name.startswith("taskworker_infra/") for name in names)
        for row in archive.read("taskworker_aws-0.1.0.dist-info/RECORD").decode().splitlines():
            name, digest, size = row.split(",")
            if digest:
                data = archive.read(name)
                expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                assert (digest, int(size)) == (f"sha256={expected}", len(data)), name


def test_library_wheel_is_reproducible(tmp_path: Path) -> None:
    library = installed_library()
    first = library.build_wheel(tmp_path / "a").read_bytes()
    assert library.build_wheel(tmp_path / "b").read_bytes() == first  # asset hashes stay put


def test_missing_distribution_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match=r"'taskworker-nope' is not installed .*pip install"):
        installed_library("taskworker-nope")
