"""plugins.zip: built the way MWAA wants it, and every module imports from the zip alone."""

from __future__ import annotations

import zipfile

from mwaa_local import packaging, paths


def test_repository_plugins_zip_builds_and_imports(tmp_path):
    zip_path = packaging.build(paths.PLUGINS, tmp_path / "plugins.zip")
    assert packaging.modules_in(zip_path), "plugins.zip holds no modules"
    failures = packaging.verify_imports(zip_path)
    assert not failures, "modules that do not import from plugins.zip alone:\n" + "\n".join(map(str, failures))


def _plugins(tmp_path, files: dict[str, str]):
    source = tmp_path / "plugins"
    for name, text in files.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    return source


def test_layout_contents_at_root_mode_755_no_bytecode(tmp_path):
    source = _plugins(tmp_path, {
        "acme/__init__.py": "",
        "acme/hooks/thing.py": "X = 1\n",
        "acme/__pycache__/thing.cpython-311.pyc": "junk",
        "acme/stale.pyc": "junk",
    })
    with zipfile.ZipFile(packaging.build(source, tmp_path / "plugins.zip")) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert "acme/__init__.py" in names and "acme/hooks/thing.py" in names
    assert not any(n.startswith("plugins/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert names == sorted(names)
    assert all((i.external_attr >> 16) & 0o777 == 0o755 for i in infos)


def test_build_is_byte_for_byte_reproducible(tmp_path):
    source = _plugins(tmp_path, {"acme/__init__.py": "", "acme/ops.py": "Y = 2\n"})
    first = packaging.build(source, tmp_path / "a.zip").read_bytes()
    (source / "acme" / "ops.py").touch()  # a new mtime must not change the archive
    assert packaging.build(source, tmp_path / "b.zip").read_bytes() == first


def test_each_broken_module_is_reported_with_its_error(tmp_path):
    source = _plugins(tmp_path, {
        "acme/__init__.py": "",
        "acme/good.py": "from acme import helper\n",
        "acme/helper.py": "VALUE = 1\n",
        "acme/typo.py": "def broken(:\n",
        "acme/needs_repo.py": "import mwaa_local  # the tooling is never deployed\n",
    })
    failures = {f.module: f.error for f in packaging.verify_imports(packaging.build(source, tmp_path / "p.zip"))}
    assert set(failures) == {"acme.typo", "acme.needs_repo"}
    assert "SyntaxError" in failures["acme.typo"]
    assert "ModuleNotFoundError" in failures["acme.needs_repo"] and "mwaa_local" in failures["acme.needs_repo"]


def test_builds_at_the_same_time_never_share_a_partial_file(tmp_path):
    """`up`, `deploy` and parallel test workers build dist/plugins.zip at once (a CI run failed on a shared
    plugins.zip.partial renamed away by the other build): each build must finish, leave a whole zip and no partial."""
    import threading

    source = _plugins(tmp_path, {f"acme/m{i}.py": f"X = {i}\n" * 2000 for i in range(20)})
    dest, errors = tmp_path / "dist" / "plugins.zip", []
    start = threading.Barrier(8)

    def build():
        start.wait()
        try:
            for _ in range(5):
                packaging.build(source, dest)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with zipfile.ZipFile(dest) as archive:
        assert archive.testzip() is None and len(archive.namelist()) == 21
    assert [p.name for p in dest.parent.iterdir()] == ["plugins.zip"]
    assert dest.stat().st_mode & 0o777 == 0o644
