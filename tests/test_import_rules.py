"""The import rules of the README's "What is where" (issue 9, "A small public core"): the
core imports no app, no app imports another, apps import only the core's public modules,
and no module imports itself back through others. bin/test checks the same with
lint-imports ([tool.importlinter] in pyproject.toml); this test names every public module,
which a "forbidden" contract cannot."""

import grimp
import pytest

APPS = ["acknowledgements", "assets", "audits", "incidents", "training"]

# What apps may import of the core. Anything else in isms is the core's own business.
PUBLIC_CORE_MODULES = {
    "isms",
    "isms.admin",
    "isms.api.fields",
    "isms.api.imports",
    "isms.api.routers",
    "isms.audit",
    "isms.clientip",
    "isms.dbguards",
    "isms.decorators",
    "isms.eras",
    "isms.evidence",
    "isms.exceptions",
    "isms.exports",
    "isms.forms",
    "isms.imports",
    "isms.models",
    # The migrations of the apps whose files are evidence name its storage and paths.
    "isms.models.evidence",
    "isms.notify",
    "isms.paging",
    "isms.pickers",
    "isms.policy_diff",
    "isms.portal",
    "isms.review",
    "isms.rendering",
    "isms.roles",
    "isms.second_factor",
    "isms.signals",
    "isms.tables",
    "isms.templatetags.isms",
}


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("isms", *APPS, exclude_type_checking_imports=True)


def imports_of(graph, package):
    """(importer, imported) for every import made by a module of `package`."""
    for module in graph.find_descendants(package) | {package}:
        for imported in graph.find_modules_directly_imported_by(module):
            yield module, imported


def top(module):
    return module.split(".")[0]


def test_the_core_imports_no_app(graph):
    assert [(a, b) for a, b in imports_of(graph, "isms") if top(b) != "isms"] == []


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_no_other_app(graph, app):
    others = set(APPS) - {app}
    assert [(a, b) for a, b in imports_of(graph, app) if top(b) in others] == []


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_only_the_cores_public_modules(graph, app):
    internal = [
        (importer, imported)
        for importer, imported in imports_of(graph, app)
        if top(imported) == "isms" and imported not in PUBLIC_CORE_MODULES
    ]
    assert internal == []


def circles(graph, package):
    """The import circles among the modules of `package`, as sets of modules (Tarjan's
    strongly connected components of more than one module)."""
    modules = sorted(graph.find_descendants(package) | {package})
    edges = {
        m: sorted(i for i in graph.find_modules_directly_imported_by(m) if top(i) == package)
        for m in modules
    }
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges.get(module, ()):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(component)

    for module in modules:
        if module not in index:
            visit(module)
    return found


@pytest.mark.parametrize("package", ["isms", *APPS])
def test_no_module_imports_itself_back_through_others(graph, package):
    assert circles(graph, package) == []
