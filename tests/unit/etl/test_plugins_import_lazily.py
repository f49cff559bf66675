"""Plugin modules read nothing from disk at import: without any include/ (and so no settings), every module of
plugins.zip still imports. Reading include/ happens on first use, inside tasks or DAG definitions."""

from __future__ import annotations

from mwaa_local import packaging, paths


def test_every_plugin_module_imports_without_include(tmp_path):
    zip_path = packaging.build(paths.PLUGINS, tmp_path / "plugins.zip")
    failures = packaging.verify_imports(zip_path, include=None)
    assert not failures, "plugin modules that need include/ (or settings) at import:\n" + "\n".join(map(str, failures))


def test_a_module_reading_include_at_import_is_caught(tmp_path):
    """Negative control: a module that reads settings at import fails the check when include/ is absent."""
    source = tmp_path / "plugins"
    (source / "acme").mkdir(parents=True)
    (source / "acme" / "__init__.py").write_text("")
    (source / "acme" / "eager.py").write_text(
        (paths.PLUGINS / "mwaa_platform" / "paths.py").read_text() + "\nCONFIG = include_path('config').read_text()\n")
    failures = {f.module: f.error for f in packaging.verify_imports(packaging.build(source, tmp_path / "p.zip"),
                                                                     include=None)}
    assert set(failures) == {"acme.eager"} and "include/ not found" in failures["acme.eager"], failures


def test_the_retail_asset_is_built_on_first_use():
    from mwaa_platform import assets

    asset = assets.RETAIL_WAREHOUSE
    assert asset is assets.retail_warehouse()
    assert asset.name == "retail_warehouse" and "local-wg" in asset.uri and asset.uri.endswith("/dev/analytics/fact_order_items")
