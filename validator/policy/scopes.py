"""Scopes of one module: CPython's `symtable` says where each name lives; bindings are kept here."""

from __future__ import annotations

import ast
import symtable
from collections import deque
from collections.abc import Callable, Hashable
from typing import Final, Generic, Literal, TypeVar

# What a name may be bound to: an expression to resolve, an imported qualified name, or
# None for a value the analysis cannot know (a parameter, a loop variable, a `def`).
Binding = ast.expr | str | None
ScopeKind = Literal["module", "class", "function"]
BlockKey = tuple[str, int]  # (block name, line), how symtable names a child block

COMPREHENSION_BLOCKS: Final[dict[type[ast.expr], str]] = {
    ast.ListComp: "listcomp",
    ast.SetComp: "setcomp",
    ast.DictComp: "dictcomp",
    ast.GeneratorExp: "genexpr",
}


class ScopeMismatchError(RuntimeError):
    """The AST and symtable disagree about a block; resolution would be guesswork."""


class Scope:
    """One block (module, class, function, lambda, comprehension) and the names bound in it."""

    __slots__ = (
        "_children",
        "_owners",
        "_private",
        "bindings",
        "definite",
        "deleted",
        "kind",
        "module",
        "parent",
        "table",
        "top",
    )

    def __init__(
        self,
        kind: ScopeKind,
        table: symtable.SymbolTable | None,
        parent: Scope | None,
        top: int,
        private: str = "",
    ) -> None:
        self.kind = kind
        self.table = table
        self.parent = parent
        self.module: Scope = self if parent is None else parent.module
        # Index of the module statement this block lies in: code in it runs no earlier.
        self.top = top
        # The tables below are keyed by names as the compiler spells them (see `key`).
        self.bindings: dict[str, list[Binding]] = {}
        # Module and class bodies: name -> body index of its first unconditional binding.
        self.definite: dict[str, int] = {}
        self.deleted: set[str] = set()
        self._private = private.lstrip("_")  # the innermost class, whose name mangles `__x`
        self._children: dict[BlockKey, deque[symtable.SymbolTable]] | None = None
        self._owners: dict[str, Scope] = {}

    @property
    def is_namespace(self) -> bool:
        """Module and class bodies look names up at run time, so a use can precede its binding."""
        return self.kind != "function"

    def child(self, kind: ScopeKind, key: BlockKey, top: int, *, in_symtable: bool) -> Scope:
        """The scope of a nested block, matched to symtable's block by name and line.

        `top` is the index of the module statement being visited. Blocks symtable never saw
        (lambdas in postponed annotations) get no table: their names resolve as globals.
        """
        private = key[0] if kind == "class" else self._private
        table = None
        if self.table is not None and in_symtable:
            if self._children is None:
                self._children = _index_children(self.table)
            queue = self._children.get(key)
            if not queue:
                raise ScopeMismatchError(f"no symbol table for block {key[0]!r} on line {key[1]}")
            table = queue.popleft()
        return Scope(kind, table, self, top if self.parent is None else self.top, private)

    def key(self, name: str) -> str:
        """`name` as the compiler spells it here: in a class, `__x` is `_Class__x`."""
        if self._private and name.startswith("__") and not name.endswith("__"):
            return f"_{self._private}{name}"
        return name

    def expect_parameters(self, names: list[str]) -> None:
        """Check the block symtable matched has this signature (blocks on one line are told
        apart only by their order, so a wrong order must not go unnoticed)."""
        if isinstance(self.table, symtable.Function):
            found = set(self.table.get_parameters())
            if found != {self.key(name) for name in names}:
                raise ScopeMismatchError(f"block parameters {sorted(found)} != {sorted(names)}")

    def owner(self, name: str) -> Scope:
        """The scope whose binding of `name` a use in this scope sees (the module for globals)."""
        key = self.key(name)
        found = self._owners.get(key)
        if found is None:
            found = self._find_owner(key)
            self._owners[key] = found
        return found

    def bindings_of(self, name: str) -> list[Binding]:
        """Everything `name`, used in this scope, may be bound to."""
        return self.owner(name).bindings.get(self.key(name), [])

    def bind(self, name: str, value: Binding) -> None:
        self.owner(name).bindings.setdefault(self.key(name), []).append(value)

    def delete(self, name: str) -> None:
        self.owner(name).deleted.add(self.key(name))

    def bind_unconditionally(self, name: str, position: int) -> None:
        """This namespace's body binds `name` at statement `position`, whatever happens."""
        if self.is_namespace and self.owner(name) is self:
            self.definite.setdefault(self.key(name), position)

    def _find_owner(self, name: str) -> Scope:
        if self.parent is None or self.table is None:
            return self.module
        try:
            symbol = self.table.lookup(name)
        except KeyError:  # e.g. names in annotations under `from __future__ import annotations`
            return self.module
        if symbol.is_global():
            return self.module
        if symbol.is_free():
            return self.parent._enclosing_function_owner(name)
        return self

    def _enclosing_function_owner(self, name: str) -> Scope:
        """Free variables come from the nearest enclosing function; class bodies are skipped."""
        scope: Scope | None = self
        while scope is not None and scope.parent is not None:
            if scope.kind == "function" and scope.table is not None:
                try:
                    symbol = scope.table.lookup(name)
                except KeyError:
                    symbol = None
                if symbol is not None and not symbol.is_free() and not symbol.is_global():
                    return scope
            scope = scope.parent
        return self.module


def module_scope(table: symtable.SymbolTable) -> Scope:
    return Scope("module", table, None, 0)


def _index_children(table: symtable.SymbolTable) -> dict[BlockKey, deque[symtable.SymbolTable]]:
    index: dict[BlockKey, deque[symtable.SymbolTable]] = {}
    for child in table.get_children():
        index.setdefault((child.get_name(), child.get_lineno()), deque()).append(child)
    return index


def own_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """The nodes of a function's body, not those of functions, lambdas or classes in it."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


KeyT = TypeVar("KeyT", bound=Hashable)
ValueT = TypeVar("ValueT")


class CycleMemo(Generic[KeyT, ValueT]):
    """Memoised answers to questions that may depend on each other in a cycle (bindings
    that feed each other: `a, b = b, a`), so a depth-first search visits each question
    once per outermost question: linear, not exponential.

    A question met again while it is being answered gets `on_cycle`. An answer is final
    for the module once no question on the stack has met part of a cycle; otherwise it
    holds only for the outermost question being answered (`query`)."""

    def __init__(self, on_cycle: ValueT) -> None:
        self.on_cycle = on_cycle
        self.final: dict[KeyT, ValueT] = {}
        self.query: dict[KeyT, ValueT] = {}
        self._active: set[KeyT] = set()
        self._cycle_seen = False

    def answer(self, key: KeyT, compute: Callable[[], ValueT]) -> ValueT:
        if key in self.final:
            return self.final[key]
        if key in self.query:
            return self.query[key]
        if key in self._active:
            self._cycle_seen = True  # what is being answered now may see part of a cycle
            return self.on_cycle
        if not self._active:
            self.query = {}
        self._active.add(key)
        try:
            found = compute()
        finally:
            self._active.discard(key)
        self.query[key] = found
        if not self._active:
            self._cycle_seen = False  # the outermost question has seen the whole cycle
            self.final[key] = found
        elif not self._cycle_seen:
            self.final[key] = found
        return found
