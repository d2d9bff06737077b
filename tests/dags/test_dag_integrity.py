"""Policy as tests: every DAG file loads, and follows the house rules."""

import ast
import re
from pathlib import Path

import pytest

from cdop_airflow.common import OWNER, TAGS
from tests.conftest import ROOT

DAG_FILES = sorted(p for p in (ROOT / "dags").glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def bag(dagbag):
    return dagbag


def test_no_import_errors(bag):
    assert bag.import_errors == {}
    assert len(bag.dag_ids) == len(DAG_FILES)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_file_name_is_dag_id_and_function_name(bag, path):
    dag = bag.get_dag(path.stem)
    assert dag is not None, f"{path.name} must define DAG {path.stem}"
    assert re.fullmatch(r"cdop_[a-z]+_[a-z_]+", dag.dag_id)
    functions = {n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}
    assert path.stem in functions


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_house_rules(bag, path):
    dag = bag.get_dag(path.stem)
    assert dag.tags and set(dag.tags) <= TAGS, f"tags outside the vocabulary: {set(dag.tags) - TAGS}"
    assert "cdop" in dag.tags
    assert dag.doc_md and len(dag.doc_md.strip()) > 40
    for task in dag.tasks:
        assert task.owner == OWNER, task.task_id
        assert task.retries >= 2, task.task_id
        if task.task_type in ("_PythonDecoratedOperator", "PythonOperator"):
            assert task.doc_md or task.doc or (task.python_callable.__doc__ or "").strip(), (
                f"{task.task_id} needs a one-line docstring")


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_nothing_heavy_at_module_level(path):
    """No SQL, pandas, Jinja or SMTP in dags/, and only cheap imports at the top."""
    source = path.read_text()
    tree = ast.parse(source)
    allowed = {"__future__", "datetime", "airflow.sdk", "cdop_airflow.common", "pendulum"}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            assert node.module in allowed, f"top-level import of {node.module} in {path.name}"
        elif isinstance(node, ast.Import):
            assert all(a.name in allowed for a in node.names), path.name
    for banned in ("sqlalchemy", "pandas", "jinja2", "smtplib", "yagmail", "Variable.get", "Connection.get"):
        assert banned not in source, f"{banned} in {path.name}"


def test_airflow_2_idioms_are_absent():
    for path in DAG_FILES:
        source = path.read_text()
        for idiom in ("schedule_interval", "days_ago", "airflow.decorators", "airflow.models.dag", "Dataset("):
            assert idiom not in source, f"{idiom} in {path.name}"


def test_application_code_does_not_import_airflow():
    for path in (ROOT / "include" / "cdop").rglob("*.py"):
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "airflow" or n.startswith("airflow.") for n in names), path
