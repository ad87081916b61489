"""The package keeps its floors: imports point down, never in a loop.

Every module of the installed package is read with `ast` (through
setup.cfg's `package_dir`: `models/` is `keras_attn.models`, `export/` is
`keras_attn.export`), and every import of keras_attn in it, at module
level or inside a function, relative ones resolved, is an edge of one
graph. The tests fail, naming the file, line and import, on

- an import loop between modules;
- an import up a floor (the table `FLOORS`, one floor per module prefix);
- a module of more than `MAX_LINES` lines whose docstring does not say
  why in its first paragraph ("Long because ...");
- a `docs/architecture.md` that is not the drawing `architecture_markdown`
  makes of the graph today (regenerate it with
  `python tests/test_architecture.py`).
"""

import ast
import configparser
import sys
from collections import defaultdict
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DRAWING = REPOSITORY / "docs" / "architecture.md"
PACKAGE = "keras_attn"

# Module prefix -> floor (the longest prefix wins). A module may import
# its own floor and the floors below, never a floor above.
FLOORS = {
    # 1: plain Keras layers and what anything may use.
    "keras_attn.layers": 1,
    "keras_attn.errors": 1,
    "keras_attn.viz": 1,
    "keras_attn._compat": 1,
    "keras_attn._keras_file": 1,
    "keras_attn._choices": 1,
    # 2: the models built from the layers.
    "keras_attn.models": 2,
    # 3: data pipelines, training, loading saved models; the package's
    # own names (`keras_attn.load_model`).
    "keras_attn.data": 3,
    "keras_attn.training": 3,
    "keras_attn.distribute": 3,
    "keras_attn.saving": 3,
    "keras_attn": 3,  # the package module itself only
    # 4: export to files.
    "keras_attn.export": 4,
    # 5: applications, which may import anything.
    "keras_attn.apps": 5,
    "keras_attn.cli": 5,
    "keras_attn.demo": 5,
    "keras_attn.tasks": 5,
}
FLOOR_NAMES = {
    1: "floor 1: layers and foundations",
    2: "floor 2: models",
    3: "floor 3: data, training, saving",
    4: "floor 4: export",
    5: "floor 5: applications",
}
MAX_LINES = 500
LONG_REASON = "Long because"
# Modules allowed over MAX_LINES without a reason, each until the change
# that splits it lands; the test fails when one is short again or gone.
KNOWN_LONG = set()


def package_dirs():
    """setup.cfg's `package_dir`: `{package: folder}`."""
    config = configparser.ConfigParser()
    config.read(REPOSITORY / "setup.cfg")
    mapping = {}
    for line in config["options"]["package_dir"].strip().splitlines():
        package, folder = (part.strip() for part in line.split("="))
        mapping[package] = REPOSITORY / folder
    return mapping


def modules():
    """`{module name: path}` of every module of the package."""
    found = {}
    for package, folder in package_dirs().items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((package, *parts))
            # A folder mapped to a package of its own (models/ inside
            # keras_attn's tree would be) is that package's.
            found.setdefault(name, path)
    return found


def _is_package(path):
    return path.name == "__init__.py"


def _resolve(module, path, node, known):
    """The keras_attn modules an import node names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        return [_longest_known(name, known) for name in names]
    if node.level:
        package = module if _is_package(path) else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    targets = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        targets.append(
            candidate if candidate in known else _longest_known(base, known)
        )
    return targets


def _longest_known(name, known):
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph():
    """`{importer: {imported: [(path, line, statement), ...]}}`."""
    known = modules()
    graph = defaultdict(lambda: defaultdict(list))
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if isinstance(node, ast.ImportFrom) and not node.level:
                if not (node.module or "").startswith(PACKAGE):
                    continue
            for target in _resolve(module, path, node, known):
                if target is None or target == module:
                    continue
                if not target.startswith(PACKAGE):
                    continue
                graph[module][target].append(
                    (path, node.lineno, ast.unparse(node))
                )
        graph.setdefault(module, defaultdict(list))
    return graph


def floor_of(module):
    """The floor of `module`, by the longest prefix of `FLOORS`."""
    for prefix in sorted(FLOORS, key=len, reverse=True):
        if prefix == PACKAGE and module != PACKAGE:
            continue
        if module == prefix or module.startswith(prefix + "."):
            return FLOORS[prefix]
    raise AssertionError(
        f"{module} has no floor: add its prefix to FLOORS in "
        "tests/test_architecture.py"
    )


def _where(site):
    path, line, statement = site
    return f"{path.relative_to(REPOSITORY)}:{line}: {statement}"


def _cycles(graph):
    """Every strongly connected set of two or more modules (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _loop_path(graph, members):
    """One loop through `members`, as the import statements that make it."""
    inside = set(members)
    start = members[0]
    path, seen, node = [], {start}, start
    while True:
        target = next(t for t in sorted(graph[node]) if t in inside)
        path.append(graph[node][target][0])
        if target == start or target in seen:
            return path
        seen.add(target)
        node = target


def test_every_package_is_installed():
    config = configparser.ConfigParser()
    config.read(REPOSITORY / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    packages = {name for name, path in modules().items() if _is_package(path)}
    missing = sorted(packages - listed)
    assert not missing, (
        f"setup.cfg's `packages` lacks {missing}: a wheel would leave them out"
    )


def test_every_module_has_a_floor():
    for module in modules():
        floor_of(module)


def test_no_import_loops():
    graph = import_graph()
    loops = _cycles(graph)
    messages = [
        "import loop between "
        + ", ".join(members)
        + ":\n    "
        + "\n    ".join(_where(site) for site in _loop_path(graph, members))
        for members in loops
    ]
    assert not loops, "\n".join(messages)


def test_no_import_goes_up_a_floor():
    graph = import_graph()
    upward = [
        f"{_where(site)}\n    {importer} (floor {floor_of(importer)}) "
        f"imports {imported} (floor {floor_of(imported)})"
        for importer, targets in sorted(graph.items())
        for imported, sites in sorted(targets.items())
        if floor_of(imported) > floor_of(importer)
        for site in sites
    ]
    assert not upward, "imports up a floor:\n" + "\n".join(upward)


def _first_paragraph(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree) or ""
    return docstring.split("\n\n")[0]


def test_long_modules_say_why():
    too_long = []
    for module, path in sorted(modules().items()):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if module in KNOWN_LONG:
            assert lines > MAX_LINES, (
                f"{module} has {lines} lines now: remove it from KNOWN_LONG "
                "in tests/test_architecture.py"
            )
            continue
        if lines > MAX_LINES and LONG_REASON not in _first_paragraph(path):
            too_long.append(
                f"{path.relative_to(REPOSITORY)}: {lines} lines; split it, "
                f"or say why in its docstring's first paragraph "
                f'("{LONG_REASON} ...")'
            )
    stale = sorted(KNOWN_LONG - set(modules()))
    assert not stale, f"KNOWN_LONG names modules that are gone: {stale}"
    assert not too_long, "\n".join(too_long)


# Packages drawn one level deeper (their folders and modules as boxes).
DRAWN_DEEPER = ("keras_attn.models", "keras_attn.apps")
OLD_PATH = "Kept for old imports"


def _box_of(module):
    """The box a module is drawn in: the package (or module) one level
    under keras_attn, or two under those of `DRAWN_DEEPER`."""
    if module == PACKAGE:
        return module
    parts = module.split(".")
    depth = 3 if ".".join(parts[:2]) in DRAWN_DEEPER else 2
    return ".".join(parts[:depth])


def architecture_markdown():
    """docs/architecture.md: the packages' imports as a Mermaid drawing,
    grouped by floor. Generated from the import graph; never edit it by
    hand."""
    graph = import_graph()
    known = modules()
    packages = {name for name, path in known.items() if _is_package(path)}
    old_paths = {
        name
        for name, path in known.items()
        if _first_paragraph(path).startswith(OLD_PATH)
    }
    nodes = defaultdict(set)
    edges = set()
    for importer, targets in graph.items():
        source = _box_of(importer)
        nodes[floor_of(importer)].add(source)
        for imported in targets:
            target = _box_of(imported)
            if target != source:
                edges.add((source, target))

    def node_id(name):
        return name.replace(".", "_")

    def label(name):
        short = name.removeprefix(PACKAGE + ".") if name != PACKAGE else name
        if name in packages and name != PACKAGE:
            short += "/"
        if name in old_paths:
            short += " (old path)"
        return short

    lines = ["flowchart BT"]
    for floor in sorted(nodes, reverse=True):
        lines.append(f'  subgraph floor{floor}["{FLOOR_NAMES[floor]}"]')
        for name in sorted(nodes[floor]):
            lines.append(f'    {node_id(name)}["{label(name)}"]')
        lines.append("  end")
    for source, target in sorted(edges):
        lines.append(f"  {node_id(source)} --> {node_id(target)}")
    drawing = "\n".join(lines)
    return f"""# Architecture: the floors of keras_attn

Generated by `architecture_markdown()` in `tests/test_architecture.py`
from the package's imports; `test_architecture_drawing_is_current` fails
when it is out of date. Regenerate it with:

    python tests/test_architecture.py

Each box is a package (a folder, `name/`) or a module, one level under
`keras_attn` (two under `models/` and `apps/`); "(old path)" marks a
module kept only so that imports from before issue 18 still work. An
arrow means "imports" (at module level or inside a function). Arrows
point down or across, never up: a module imports only its own floor and
the floors below it, and no modules import one another in a loop.
`models/` installs as `keras_attn.models` and `export/` as
`keras_attn.export` (setup.cfg's `package_dir`).

```mermaid
{drawing}
```
"""


def test_architecture_drawing_is_current():
    expected = architecture_markdown()
    current = DRAWING.read_text(encoding="utf-8") if DRAWING.exists() else ""
    assert current == expected, (
        f"{DRAWING.relative_to(REPOSITORY)} is not the drawing of today's "
        "imports; regenerate it with `python tests/test_architecture.py` "
        "and commit it."
    )


if __name__ == "__main__":
    DRAWING.parent.mkdir(exist_ok=True)
    DRAWING.write_text(architecture_markdown(), encoding="utf-8")
    print(f"wrote {DRAWING}")
