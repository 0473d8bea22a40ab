"""Finding the user's project from the app's code, and what it declares it depends on."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

pytest.importorskip("aws_cdk")

from taskworker_infra.project import declared_requirements, find_project

from tests.infra.user_project import make_project


@pytest.fixture
def importable(monkeypatch: pytest.MonkeyPatch):
    def put_on_path(directory: Path) -> None:
        monkeypatch.syspath_prepend(str(directory))
        importlib.invalidate_caches()

    return put_on_path


def test_project_is_the_nearest_pyproject_above_the_app_package(tmp_path, importable) -> None:
    importable(
        make_project(tmp_path / "shop", "shop_src_layout", dependencies=["iniconfig>=2"], layout="src")
    )
    project = find_project("shop_src_layout")
    assert project.root == (tmp_path / "shop").resolve()
    assert project.package_source == tmp_path / "shop" / "src" / "shop_src_layout"
    assert project.requirements == ("iniconfig>=2",)


def test_the_library_is_never_a_requirement_to_resolve_by_name(tmp_path) -> None:
    # "taskworker" on PyPI is an unrelated project; the assets take the installed library
    make_project(tmp_path, "shop_named", dependencies=["taskworker-aws[cli]>=0.1", "Taskworker", "iniconfig"])
    assert declared_requirements(tmp_path) == ("iniconfig",)


def test_requirements_txt_when_there_is_no_pyproject(tmp_path, importable) -> None:
    (tmp_path / "legacy_shop").mkdir()
    (tmp_path / "legacy_shop" / "__init__.py").write_text("")
    (tmp_path / "requirements.txt").write_text("# pinned\niniconfig==2.0.0  # tiny\n\ntaskworker_aws\n")
    importable(tmp_path)
    project = find_project("legacy_shop")
    assert (project.root, project.requirements) == (tmp_path.resolve(), ("iniconfig==2.0.0",))


def test_project_root_overrides_the_search(tmp_path, importable) -> None:
    importable(make_project(tmp_path / "code", "shop_override", dependencies=["iniconfig"]))
    (tmp_path / "deploy" / "pyproject.toml").parent.mkdir()
    (tmp_path / "deploy" / "pyproject.toml").write_text('[project]\nname = "d"\ndependencies = ["attrs"]\n')
    assert find_project("shop_override", root=tmp_path / "deploy").requirements == ("attrs",)


def test_bad_declarations_are_clear_errors_naming_the_file(tmp_path) -> None:
    (tmp_path / "requirements.txt").write_text("-r other.txt\n")
    with pytest.raises(ValueError, match=r"requirements.txt: pip options \('-r other.txt'\)"):
        declared_requirements(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["not a req!"]\n')
    with pytest.raises(ValueError, match=r"pyproject.toml: invalid requirement 'not a req!'"):
        declared_requirements(tmp_path)


def test_code_outside_any_project_needs_project_root(tmp_path, importable) -> None:
    (tmp_path / "loose_shop.py").write_text("")
    importable(tmp_path)
    with pytest.raises(ValueError, match=r"no pyproject.toml or requirements.txt above .*pass project_root="):
        find_project("loose_shop")
