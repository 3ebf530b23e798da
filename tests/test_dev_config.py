"""temporal-dev.yaml is the single source of the dev cluster's flags, and bad files fail clearly."""

from __future__ import annotations

import pytest

from worker.devserver import DevConfigError, load_dev_config
from worker.settings import REPO_ROOT
from workflows import search_attributes


def test_shipped_file_becomes_start_dev_flags():
    """Ports, SQLite file with WAL pragmas, search attributes and dynamic config all become flags."""
    config = load_dev_config()
    args = config.args()
    assert args[:2] == ["server", "start-dev"]
    assert args[args.index("--port") + 1] == "7233" and args[args.index("--ui-port") + 1] == "8233"
    assert args[args.index("--db-filename") + 1] == str(REPO_ROOT / ".data" / "temporal.sqlite")
    assert "journal_mode=wal" in args and "synchronous=normal" in args
    assert 'history.workflowIdReuseMinimalInterval="0s"' in args


def test_search_attributes_match_what_the_workflow_writes():
    """The file registers exactly the attributes AgentRun upserts, with the same types."""
    assert load_dev_config().search_attributes == search_attributes.ALL


def test_unknown_key_names_the_key_and_the_file(tmp_path):
    """A typo fails with the dotted key and the file's path."""
    path = tmp_path / "dev.yaml"
    path.write_text("server:\n  grpc_prot: 7000\n")
    with pytest.raises(DevConfigError) as error:
        load_dev_config(path)
    assert str(path) in str(error.value) and "server.grpc_prot: unknown key" in str(error.value)


def test_bad_yaml_and_bad_values_fail_with_the_file(tmp_path):
    """Unparsable YAML and wrong types are refused before any process starts."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("server: [unclosed\n")
    with pytest.raises(DevConfigError, match="not valid YAML"):
        load_dev_config(broken)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("search_attributes:\n  AgentStatus: Strnig\n")
    with pytest.raises(DevConfigError, match=r"search_attributes.AgentStatus"):
        load_dev_config(wrong)


def test_namespaces_and_headless_map_to_flags(tmp_path):
    """Extra namespaces are created at start; headless drops the UI port."""
    path = tmp_path / "dev.yaml"
    path.write_text("server:\n  headless: true\nnamespaces: [default, agents-staging]\n")
    args = load_dev_config(path).args()
    assert "--headless" in args and "--ui-port" not in args
    assert args[args.index("--namespace") + 1] == "agents-staging"


def test_ui_codec_endpoint_becomes_a_flag_only_with_the_ui(tmp_path):
    """The Web UI is pointed at the codec server; a headless server has no UI to point."""
    with_ui = load_dev_config(server={"ui_codec_endpoint": "http://127.0.0.1:8234"}).args()
    assert with_ui[with_ui.index("--ui-codec-endpoint") + 1] == "http://127.0.0.1:8234"
    headless = load_dev_config(server={"ui_codec_endpoint": "http://127.0.0.1:8234", "headless": True}).args()
    assert "--ui-codec-endpoint" not in headless
