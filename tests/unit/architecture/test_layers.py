"""The layers hold: the pure core imports no Kafka client or stream framework, and no module imports itself
back through a circle. Both are checked on the code as it is, so a new import that breaks them fails here."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from streams.settings import REPO_ROOT

PACKAGE = REPO_ROOT / "streams"

#: The pure layers: plain values and compiled policies in, plain values out.
PURE = [
    "streams.core",
    "streams.policy.model",
    "streams.policy.loader",
    "streams.policy.compiler",
    "streams.policy.lint",
    "streams.policy.starter",
    "streams.transforms.registry",
    "streams.envelope",
    "streams.envelope.debezium",
    "streams.envelope.salesforce",
    "streams.avro.wire",
    "streams.avro.types",
    "streams.avro.compat",
    "streams.ports",
    "streams.processor.pipeline",
    "streams.audit",
    "streams.deadletter",
]
FRAMEWORKS = ["confluent_kafka", "aiokafka", "faust", "mode"]


def test_pure_layers_load_no_kafka_client_or_framework() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {PURE!r}: importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert json.loads(result.stdout) == []


def test_the_offload_child_does_not_import_faust() -> None:
    code = (
        "import json, sys\n"
        "import streams.processor.offload, streams.processor.compose\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('faust', 'mode', 'aiokafka'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert json.loads(result.stdout) == []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """Project modules imported at module level, outside ``if TYPE_CHECKING:`` blocks and function bodies
    (a function-level import runs on first call, after every module has loaded)."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(node.orelse)
                if isinstance(node, ast.Try):
                    for handler in node.handlers:
                        visit(handler.body)

    visit(ast.parse(path.read_text()).body)
    return {m for m in found if m in modules}


def _import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        edges = _runtime_imports(path, modules)
        # Importing a.b.c runs a/__init__ and a/b/__init__ first.
        for target in list(edges):
            parts = target.split(".")
            edges.update(".".join(parts[:i]) for i in range(2, len(parts)) if ".".join(parts[:i]) in modules)
        graph[name] = edges - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                strongconnect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return found


def test_no_import_circles() -> None:
    graph = _import_graph()
    assert "streams.processor.pipeline" in graph  # the graph was read
    assert _cycles(graph) == []


def test_the_circle_detector_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_devtools_stay_out_of_the_runtime() -> None:
    """The worker's modules never import demo, generator, services or test sinks."""
    graph = _import_graph()
    runtime = [m for m in graph if not m.startswith(("streams.devtools", "streams.cli"))]
    offenders = {m: sorted(t for t in graph[m] if t.startswith("streams.devtools")) for m in runtime}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_every_integration_module_is_marked() -> None:
    modules = sorted((REPO_ROOT / "tests" / "integration").glob("test_*.py"))
    assert modules
    unmarked = [m.name for m in modules if "pytestmark = pytest.mark.integration" not in m.read_text()]
    assert unmarked == []


def test_no_runtime_module_uses_the_random_module() -> None:
    """Privacy randomness comes from OpenDP or ``secrets``. Only the dev tooling (seeded synthetic and hostile
    test data, never privacy noise) may use ``random``; the worker never imports it."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if _module_name(path).startswith("streams.devtools"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n == "random" or n.startswith("random.") for n in names):
                offenders.append(_module_name(path))
    assert offenders == []
