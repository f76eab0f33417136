"""What every policy checker sees: name resolution, literal folding, positions, reporting."""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from validator.findings import Finding
from validator.policy.config import Policy
from validator.policy.rules import rule
from validator.policy.scopes import CycleMemo, Scope

BUILTIN_NAMES: Final = frozenset(dir(builtins))
_EMPTY: Final[frozenset[str]] = frozenset()
_MAX_ALIAS_DEPTH = 100
_MAX_QUERY_NODES = 50_000
_MAX_REPEAT = 4096
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_UNFOLDED: Final = object()
_DISPLAYS: Final = (ast.Tuple, ast.List, ast.Set)
# Builtins that read a collection passed to them and never change it.
_READING_BUILTINS: Final = frozenset(
    {
        "all", "any", "enumerate", "frozenset", "len", "list", "max", "min", "reversed",
        "set", "sorted", "sum", "tuple", "zip",
    }
)
# Of those, the ones whose items are the items of their argument.
_ITEM_PRESERVING: Final = frozenset({"frozenset", "list", "reversed", "set", "sorted", "tuple"})
_NAME_GETTERS: Final = frozenset({"builtins.getattr", "builtins.hasattr"})


@dataclass(frozen=True)
class Method:
    """A `def` directly in a class body, undecorated: what reflection rules need of it."""

    name: str
    positional: tuple[str, ...]
    kwarg: str | None  # the `**` parameter


class AliasChainTooDeepError(RecursionError):
    """An alias chain longer than the resolver follows; the script cannot be cleared."""


class Context:
    """Shared state of one policy pass over one module."""

    def __init__(self, policy: Policy, source: str) -> None:
        self.policy = policy
        self._source = source
        self.callees: set[int] = set()
        self.attribute_bases: set[int] = set()
        # id(expression) -> the Attribute node it is the base of.
        self.attribute_parents: dict[int, ast.Attribute] = {}
        # id(function block) -> the name of its `**` parameter.
        self.kwarg_parameters: dict[int, str] = {}
        self.imported_modules: set[str] = set()
        # `x.attr = value` anywhere in the module: attribute name -> the values stored.
        self.attribute_stores: dict[str, list[ast.expr]] = {}
        # Attribute names also stored where no value is recorded for them (a loop, `with` or
        # comprehension target, tuple unpacking): what they hold is unknown.
        self.opaque_attribute_stores: set[str] = set()
        # Names whose items are assigned or that a mutating method is called on.
        self.subscript_stores: set[str] = set()
        # Names a mutating method (`append`, `update`, ...) is taken from.
        self.method_mutated: set[str] = set()
        # `name[key] = value`: name -> the values stored into its items.
        self.item_values: dict[str, list[ast.expr]] = {}
        # `x.attr[key] = value`: attr -> the values stored into its items.
        self.attribute_item_values: dict[str, list[ast.expr]] = {}
        # `name += value` (`|=`, ...): name -> the values merged into it.
        self.augmented_values: dict[str, list[ast.expr]] = {}
        # Names and attribute names whose items are stored with no value recorded (a loop or
        # unpacking target, `+=`): what they hold is unknown.
        self.opaque_item_stores: set[str] = set()
        # Loop and comprehension targets: (id(owning scope), name) -> what they iterate.
        self.loop_iterables: dict[tuple[int, str], list[ast.expr]] = {}
        # `for key, value in mapping.items()`: (id(owning scope), key) -> the mappings.
        self.item_key_loops: dict[tuple[int, str], list[ast.expr]] = {}
        # ids of expressions iterated by a loop or comprehension, or right of `in`.
        self.read_in_place: set[int] = set()
        # id(positional argument) -> the call it is passed to.
        self.call_arguments: dict[int, ast.Call] = {}
        # Methods (a `def` directly in a class body, undecorated), by id(block).
        self.methods: dict[int, Method] = {}
        # `object.__setattr__`-like attributes, decided in module_end once names resolve.
        self.object_reflection: list[ast.Attribute] = []
        # `<x>.__init__` reads and names, judged once every binding is known (dunder.py).
        self.init_reads: list[ast.AST] = []
        # `X.__class__` nodes read only as `X.__class__.__name__` / `.__qualname__`.
        self.class_name_reads: set[int] = set()
        # Every name any scope of the script binds (a script's own `sorted` is not the builtin).
        self.names_bound_anywhere: set[str] = set()
        # Attribute nodes naming a format method (`.format`, `.format_map`), for module_end.
        self.format_methods: list[ast.Attribute] = []
        # Attribute nodes naming a mapping setter (`.update`, `.from_dict`), for module_end.
        self.setter_methods: list[ast.Attribute] = []
        # `getattr(obj, field.name)` calls over `dataclasses.fields(...)`, for module_end.
        self.field_getattrs: list[ast.Call] = []
        # Reflective calls allowed as keyword-driven (`setattr(self, key, value)` over the
        # method's own `**kwargs`), and the calls whose keywords could feed them a name the
        # analysis cannot see or may not allow, for module_end.
        self.keyword_setattrs: list[ast.Call] = []
        self.unseen_keywords: list[tuple[ast.Call, str]] = []
        # References to `dataclasses` names that could hand out or make Field objects, and
        # reasons found during the pass that a Field's `.name` may be changed.
        self.dataclass_refs: list[tuple[ast.expr, frozenset[str]]] = []
        self.field_calls: list[tuple[ast.Call, str]] = []
        self.field_renamers: list[str] = []
        self.pending: list[tuple[str, ast.AST | None, str]] = []
        # Names and attributes read inside annotations (`x: type[Foo]` is not a value).
        self.annotation_nodes: set[int] = set()
        # One-argument `type(x)` calls whose object the script did not make, and `type`
        # taken as a value: how each result is used is decided in module_end.
        self.type_calls: list[ast.Call] = []
        self.type_values: list[ast.expr] = []
        # `sys.stdout`/`sys.stderr` used as values, decided in module_end.
        self.stream_values: list[ast.expr] = []
        # Reads of attributes that hold a stream or its binary layers (`.stream`, `.buffer`).
        self.stream_layer_reads: list[tuple[ast.AST, str]] = []
        # ids of the expressions whose items are assigned or deleted (`a.b[k] = v`).
        self.item_store_bases: set[int] = set()
        # Every attribute rule, as the engine runs it on `x.attr` (set by the engine).
        self.attribute_rules: Callable[[ast.AST, str], None] = lambda node, attr: None
        # Keyword sinks: (the reflective call or setter, the function scope whose
        # `**kwargs` keys it takes as attribute names), for module_end.
        self.keyword_sinks: list[tuple[ast.Call, Scope]] = []
        # Every class pattern (`case C(...)`), judged in module_end once names resolve.
        self.class_patterns: list[ast.MatchClass] = []
        # Every call in the module, and the `def`s binding each (scope id, name).
        self.calls: list[ast.Call] = []
        self.defs: dict[tuple[int, str], list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        self.classes: dict[tuple[int, str], list[ast.ClassDef]] = {}
        # id(function block) -> its `def`, and the scope the `def` binds its name in.
        self.def_blocks: dict[int, tuple[ast.FunctionDef | ast.AsyncFunctionDef, Scope]] = {}
        # id(class block) -> its `class` statement.
        self.class_blocks: dict[int, ast.ClassDef] = {}
        # ids of the expressions in `class C(base, ...)` base lists.
        self.class_bases: set[int] = set()
        self._calls_by_func: dict[int, ast.Call] = {}
        # id(def) -> whether it may be held as a value the analysis does not follow.
        self.escapes: dict[int, bool] = {}
        # id(Name) -> (the scope it is used in, index of its statement in that scope's body)
        self._sites: dict[int, tuple[Scope, int]] = {}
        self._loaded_names: list[ast.Name] = []
        self._sealed_names: dict[tuple[int, str], bool] = {}
        self._resolutions: CycleMemo[int, frozenset[str]] = CycleMemo(_EMPTY)
        self._folded: dict[int, object] = {}

    # --- reporting -------------------------------------------------------------------

    def report(self, rule_id: str, node: ast.AST | None, message: str) -> None:
        """Record a finding; columns are converted to characters only if anything is found."""
        self.pending.append((rule_id, node, message))

    def findings(self) -> list[Finding]:
        unique: dict[tuple[str, int | None, int | None], Finding] = {}
        lines = None if self._source.isascii() else _LINE_BREAK.split(self._source)
        for rule_id, node, message in self.pending:
            line: int | None = getattr(node, "lineno", None)
            offset: int | None = getattr(node, "col_offset", None)
            column = None
            if line is not None and offset is not None:
                column = _character_column(lines, line, offset) + 1
            unique.setdefault((rule_id, line, column), rule(rule_id).finding(message, line, column))
        return sorted(unique.values(), key=lambda f: (f.line or 0, f.column or 0, f.rule))

    # --- what the engine records -----------------------------------------------------

    def use_site(self, node: ast.Name, scope: Scope, position: int) -> None:
        self._sites[id(node)] = (scope, position)
        self._loaded_names.append(node)

    def is_callee(self, node: ast.AST) -> bool:
        return id(node) in self.callees

    def call_of(self, func: ast.AST) -> ast.Call | None:
        """The call whose callee expression is `func` (after the traversal), if any."""
        if len(self._calls_by_func) != len(self.calls):
            self._calls_by_func = {id(call.func): call for call in self.calls}
        return self._calls_by_func.get(id(func))

    def loaded_names(self) -> list[ast.Name]:
        """Every loaded Name of the module, in traversal order."""
        return self._loaded_names

    def attribute_by_name(self, node: ast.AST, name: str) -> None:
        """An attribute named by a string (`getattr(x, "tofile")`, `attrgetter("a.b")`, a
        dataclass field name, a keyword a keyword-driven setattr turns into a name): every
        rule that judges `x.attr` by its spelling judges it, reported at `node`."""
        for part in name.split("."):
            self.attribute_rules(node, part.strip())

    def name_site(self, name: ast.Name) -> tuple[Scope, str] | None:
        """The scope that owns a loaded `name`, and its key there; None if not recorded."""
        site = self._sites.get(id(name))
        if site is None:
            return None
        scope, _ = site
        return scope.owner(name.id), scope.key(name.id)

    def only_defs(self, name: ast.Name) -> list[ast.FunctionDef | ast.AsyncFunctionDef] | None:
        """The `def`s a loaded `name` may be, if every binding it can see is one; else None."""
        found = self.name_site(name)
        if found is None:
            return None
        owner, key = found
        defs = self.defs.get((id(owner), key), [])
        if not defs or len(defs) != len(owner.bindings.get(key, [])):
            return None
        return defs

    def class_named(self, name: ast.Name) -> list[ast.ClassDef]:
        """The script classes a loaded `name` may be (any binding that is a `class`)."""
        found = self.name_site(name)
        if found is None:
            return []
        owner, key = found
        return self.classes.get((id(owner), key), [])

    def note_loop(self, scope: Scope, target: ast.expr, iterable: ast.expr) -> None:
        """`for target in iterable` (or a comprehension's `for`) binds `target` in `scope`."""
        if isinstance(target, ast.Name):
            owner = scope.owner(target.id)
            key = (id(owner), scope.key(target.id))
            self.loop_iterables.setdefault(key, []).append(iterable)

    def only_loop_bound(self, name: ast.Name) -> list[ast.expr] | None:
        """What `name` iterates over, if every binding it can see is a loop over those
        iterables (no parameter, assignment or other binding); else None."""
        site = self._sites.get(id(name))
        if site is None:
            return None
        scope, _ = site
        owner = scope.owner(name.id)
        key = scope.key(name.id)
        loops = self.loop_iterables.get((id(owner), key), [])
        if not loops or len(loops) != len(owner.bindings.get(key, [])):
            return None
        return loops

    def note_items_loop(self, scope: Scope, target: ast.expr, iterable: ast.expr) -> None:
        """`for key, value in mapping.items()` binds `key` to the mapping's keys."""
        if (isinstance(target, ast.Tuple) and len(target.elts) == 2
                and isinstance(target.elts[0], ast.Name) and isinstance(iterable, ast.Call)
                and isinstance(iterable.func, ast.Attribute) and iterable.func.attr == "items"
                and not iterable.args and not iterable.keywords):
            name = target.elts[0].id
            key = (id(scope.owner(name)), scope.key(name))
            self.item_key_loops.setdefault(key, []).append(iterable.func.value)

    def key_loop_mappings(self, name: ast.Name) -> list[ast.expr] | None:
        """The mappings whose keys `name` takes, if every binding it can see is a loop over
        one (`for k in m`, `for k in m.keys()`, `for k, v in m.items()`); else None."""
        site = self._sites.get(id(name))
        if site is None:
            return None
        scope, _ = site
        owner, key = scope.owner(name.id), scope.key(name.id)
        plain = self.loop_iterables.get((id(owner), key), [])
        items = self.item_key_loops.get((id(owner), key), [])
        if len(plain) + len(items) != len(owner.bindings.get(key, [])) or not plain + items:
            return None
        mappings = list(items)
        for iterable in plain:
            if (isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Attribute)
                    and iterable.func.attr == "keys" and not iterable.args):
                mappings.append(iterable.func.value)
            else:
                mappings.append(iterable)
        return mappings

    def method_parameters(self, name: ast.Name) -> tuple[Scope, Method] | None:
        """For a name used in a method and bound only as that method's parameter: the
        method's scope and signature; else None."""
        site = self._sites.get(id(name))
        if site is None:
            return None
        scope, _ = site
        owner, key = scope.owner(name.id), scope.key(name.id)
        method = self.methods.get(id(owner))
        if method is None or owner.bindings.get(key) != [None]:
            return None
        return owner, method

    def is_own_kwargs(self, name: ast.Name) -> bool:
        """`kwargs` used in the function whose `**kwargs` parameter it is, bound nowhere else
        and never changed item by item: its keys are the keywords the caller wrote."""
        site = self._sites.get(id(name))
        if site is None or name.id in self.subscript_stores:
            return False
        scope, _ = site
        owner, key = scope.owner(name.id), scope.key(name.id)
        return (self.kwarg_parameters.get(id(owner)) == name.id
                and owner.bindings.get(key) == [None])

    def loaded_uses(self, owner_id: int, key: str) -> list[ast.Name]:
        """Every loaded Name in the module that refers to the variable `key` of the scope
        whose id is `owner_id` (as `loop_iterables` is keyed)."""
        found = []
        for use in self._loaded_names:
            use_scope, _ = self._sites[id(use)]
            if use_scope.key(use.id) == key and id(use_scope.owner(use.id)) == owner_id:
                found.append(use)
        return found

    def binding_values(self, name: ast.Name) -> list[ast.expr | str | None] | None:
        """Everything a loaded `name` may be bound to, or None if the use was not recorded."""
        site = self._sites.get(id(name))
        if site is None:
            return None
        scope, _ = site
        return list(scope.bindings_of(name.id))

    # --- literals --------------------------------------------------------------------

    def literal_str(self, expr: ast.expr) -> str | None:
        """The value of a string built only from literals (`"__gl" + "obals__"`), else None."""
        cached = self._folded.get(id(expr), _UNFOLDED)
        if cached is _UNFOLDED:
            cached = self._fold(expr)
            self._folded[id(expr)] = cached
        return cached if isinstance(cached, str) else None

    def is_literal_str(self, expr: ast.expr) -> bool:
        """A literal string, or a name every binding of which is a literal string."""
        if self.literal_str(expr) is not None:
            return True
        if not isinstance(expr, ast.Name) or id(expr) not in self._sites:
            return False
        scope, _ = self._sites[id(expr)]
        bindings = scope.bindings_of(expr.id)
        return bool(bindings) and all(
            isinstance(b, ast.expr) and self.literal_str(b) is not None for b in bindings
        )

    def literal_names(self, expr: ast.expr) -> frozenset[str] | None:
        """Every string `expr` may be, when each is a literal: a folded literal, or a name
        bound only to literals or to the items of literal collections (`for name in
        ("accuracy", "f1")`, `for name in METRICS` with `METRICS = ("a", "b")`); else None."""
        value = self.literal_str(expr)
        if value is not None:
            return frozenset({value})
        if not isinstance(expr, ast.Name) or id(expr) not in self._sites:
            return None
        scope, _ = self._sites[id(expr)]
        owner, key = scope.owner(expr.id), scope.key(expr.id)
        names: set[str] = set()
        unknown = 0
        for binding in owner.bindings.get(key, ()):
            folded = self.literal_str(binding) if isinstance(binding, ast.expr) else None
            if folded is not None:
                names.add(folded)
            elif binding is None:
                unknown += 1
            else:
                return None  # bound to something computed, or to an import
        # What remains must be loops over a named literal collection (a loop over a literal
        # display binds its items, counted above).
        loops = [it for it in self.loop_iterables.get((id(owner), key), [])
                 if not (isinstance(it, _DISPLAYS)
                         and not any(isinstance(e, ast.Starred) for e in it.elts))]
        if unknown != len(loops):
            return None  # a parameter, `with ... as`, an unpacking target...
        for iterable in loops:
            items = self._collection_literals(iterable)
            if items is None:
                return None
            names |= items
        return frozenset(names) if names else None

    def _collection_literals(self, iterable: ast.expr) -> frozenset[str] | None:
        """The strings a named literal tuple, list or set holds, if it can hold nothing
        else: a tuple never changes; a list or set must never be changed or handed out.
        `sorted(...)`, `list(...)` and the like of one are the same strings."""
        if (isinstance(iterable, ast.Call) and len(iterable.args) == 1
                and isinstance(iterable.func, ast.Name)
                and iterable.func.id in _ITEM_PRESERVING and self._reading_builtin(iterable.func)):
            iterable = iterable.args[0]
            if isinstance(iterable, _DISPLAYS):
                items = [None if isinstance(e, ast.Starred) else self.literal_str(e)
                         for e in iterable.elts]
                return None if any(i is None for i in items) else frozenset(
                    i for i in items if i is not None)
        if not isinstance(iterable, ast.Name) or id(iterable) not in self._sites:
            return None
        values = self.binding_values(iterable)
        if not values:
            return None
        names: set[str] = set()
        mutable = False
        for value in values:
            if not isinstance(value, _DISPLAYS):
                return None
            mutable = mutable or not isinstance(value, ast.Tuple)
            for element in value.elts:
                item = None if isinstance(element, ast.Starred) else self.literal_str(element)
                if item is None:
                    return None
                names.add(item)
        if mutable and not self._sealed(iterable):
            return None
        return frozenset(names)

    def _sealed(self, collection: ast.Name) -> bool:
        """A list or set name that is only ever read in place: looped over, tested with
        `in`, passed to a reading builtin, or a method base that adds nothing."""
        if collection.id in self.subscript_stores:
            return False
        scope, _ = self._sites[id(collection)]
        owner, key = scope.owner(collection.id), scope.key(collection.id)
        known = self._sealed_names.get((id(owner), key))
        if known is None:
            known = self._sealed_names[(id(owner), key)] = self._only_read(collection, owner, key)
        return known

    def _only_read(self, collection: ast.Name, owner: Scope, key: str) -> bool:
        for use in self._loaded_names:
            if use.id != collection.id:
                continue
            use_scope, _ = self._sites[id(use)]
            if use_scope.owner(use.id) is not owner or use_scope.key(use.id) != key:
                continue
            if id(use) in self.read_in_place or id(use) in self.attribute_bases:
                continue
            call = self.call_arguments.get(id(use))
            if call is None or not self._reading_builtin(call.func):
                return False
        return True

    def _reading_builtin(self, func: ast.expr) -> bool:
        # Decided from bindings alone (this runs inside name resolution): a builtin's name
        # the script never binds anywhere.
        if not isinstance(func, ast.Name) or func.id not in _READING_BUILTINS:
            return False
        return id(func) in self._sites and func.id not in self.names_bound_anywhere

    def is_literal_lookup_base(self, node: ast.expr) -> bool:
        """`math` in `getattr(math, name)` where `name` is one or more literal names: the
        call reads `math.<name>` (each checked like written out), not the module as a value."""
        call = self.call_arguments.get(id(node))
        if call is None or len(call.args) < 2 or call.args[0] is not node:
            return False
        if not self.resolve(call.func) or not self.resolve(call.func) <= _NAME_GETTERS:
            return False
        return self.literal_names(call.args[1]) is not None

    def _fold(self, expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Constant):
            value = expr.value
            if isinstance(value, bytes):
                return value.decode("latin-1")
            return value if isinstance(value, str) else None
        if isinstance(expr, ast.BinOp):
            return self._fold_chain(expr)
        if isinstance(expr, ast.Call):
            return self._fold_call(expr)
        return None

    def _fold_chain(self, expr: ast.BinOp) -> str | None:
        """Fold a left-nested `a + b * 2 + ...` chain without recursing down its spine."""
        spine: list[ast.BinOp] = []
        node: ast.expr = expr
        while (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Add | ast.Mult)
            and id(node) not in self._folded
        ):
            spine.append(node)
            node = node.left
        if not spine:
            return None  # another operator: never a string we can know
        value = self.literal_str(node)
        for link in reversed(spine):
            value = None if value is None else self._apply(value, link)
            self._folded[id(link)] = value
        return value

    def _apply(self, left: str, link: ast.BinOp) -> str | None:
        if isinstance(link.op, ast.Add):
            right = self.literal_str(link.right)
            return None if right is None else left + right
        count = link.right.value if isinstance(link.right, ast.Constant) else None
        if not isinstance(count, int) or isinstance(count, bool) or count > _MAX_REPEAT:
            return None
        return left * count

    def _fold_call(self, expr: ast.Call) -> str | None:
        func, args = expr.func, expr.args
        if len(args) != 1 or expr.keywords or isinstance(args[0], ast.Starred):
            return None
        arg = args[0]
        if isinstance(func, ast.Name) and func.id == "chr":
            code = arg.value if isinstance(arg, ast.Constant) else None
            if isinstance(code, int) and not isinstance(code, bool) and 0 <= code < 0x110000:
                return chr(code)
            return None
        if isinstance(func, ast.Attribute) and func.attr == "join":
            sep = self.literal_str(func.value)
            if sep is None or not isinstance(arg, ast.List | ast.Tuple):
                return None
            parts = [self.literal_str(item) for item in arg.elts]
            return None if any(p is None for p in parts) else sep.join(p or "" for p in parts)
        return None

    # --- name resolution -------------------------------------------------------------

    def resolve(self, expr: ast.expr) -> frozenset[str]:
        """Fully qualified names `expr` may refer to, through imports and plain assignments."""
        return self._resolve(expr, 0)

    def _resolve(self, expr: ast.expr, depth: int) -> frozenset[str]:
        # A cycle of bindings resolves to nothing where it closes (`CycleMemo`).
        return self._resolutions.answer(id(expr), lambda: self._resolve_bounded(expr, depth))

    def _resolve_bounded(self, expr: ast.expr, depth: int) -> frozenset[str]:
        if depth > _MAX_ALIAS_DEPTH or len(self._resolutions.query) > _MAX_QUERY_NODES:
            raise AliasChainTooDeepError("alias chain too deep or too tangled to resolve")
        return self._resolve_uncached(expr, depth)

    def _resolve_uncached(self, expr: ast.expr, depth: int) -> frozenset[str]:
        if isinstance(expr, ast.Name):
            return self._resolve_name(expr, depth)
        if isinstance(expr, ast.Attribute):
            base = self._resolve(expr.value, depth + 1)
            return frozenset(f"{name}.{expr.attr}" for name in base)
        if isinstance(expr, ast.NamedExpr):
            return self._resolve(expr.value, depth + 1)
        if isinstance(expr, ast.IfExp):
            return self._resolve(expr.body, depth + 1) | self._resolve(expr.orelse, depth + 1)
        if isinstance(expr, ast.BoolOp):
            return frozenset().union(*(self._resolve(v, depth + 1) for v in expr.values))
        if isinstance(expr, ast.Call):
            return self._resolve_getattr(expr, depth)
        return _EMPTY

    def _resolve_getattr(self, call: ast.Call, depth: int) -> frozenset[str]:
        """`getattr(torch, "utils")` is `torch.utils` (a computed name is EP202 anyway)."""
        args = call.args
        if not isinstance(call.func, ast.Name) or not 2 <= len(args) <= 3:
            return _EMPTY  # (not a method: `s.replace(a, b).replace(...)` chains stay cheap)
        if any(isinstance(a, ast.Starred) for a in args):
            return _EMPTY
        attrs = self.literal_names(args[1])
        if attrs is None or "builtins.getattr" not in self._resolve(call.func, depth + 1):
            return _EMPTY
        return frozenset(f"{name}.{attr}" for name in self._resolve(args[0], depth + 1)
                         for attr in attrs)

    def _resolve_name(self, node: ast.Name, depth: int) -> frozenset[str]:
        site = self._sites.get(id(node))
        if site is None:
            return _EMPTY
        scope, position = site
        owner = scope.owner(node.id)
        key = scope.key(node.id)  # tables hold mangled names: `__x` in class C is `_C__x`
        names = self._bound_names(owner, key, depth)
        if owner.parent is None:
            return names | self._builtin(owner, key, position if scope is owner else scope.top)
        if owner is scope and owner.kind == "class" and not _surely_bound(owner, key, position):
            # A class body looks a name up in the class, then in globals, then in builtins.
            module = owner.module
            return names | self._bound_names(module, key, depth) | self._builtin(
                module, key, owner.top
            )
        return names

    def _bound_names(self, owner: Scope, key: str, depth: int) -> frozenset[str]:
        names: set[str] = set()
        for value in owner.bindings.get(key, ()):
            if isinstance(value, str):
                names.add(value)
            elif value is not None:
                names |= self._resolve(value, depth + 1)
        return frozenset(names)

    @staticmethod
    def _builtin(module: Scope, name: str, position: int) -> frozenset[str]:
        """`builtins.name` unless the module surely shadows it before statement `position` runs."""
        if name in BUILTIN_NAMES and not _surely_bound(module, name, position):
            return frozenset({f"builtins.{name}"})
        return _EMPTY


def _surely_bound(namespace: Scope, name: str, position: int) -> bool:
    """Whether an unconditional statement of a module or class body binds `name` before the
    statement at `position`, and nothing deletes it; otherwise a lookup can fall through."""
    first = namespace.definite.get(name)
    return first is not None and first < position and name not in namespace.deleted


def _character_column(lines: list[str] | None, line: int, offset: int) -> int:
    """ast columns count UTF-8 bytes; findings count characters."""
    if lines is None or line > len(lines) or lines[line - 1].isascii():
        return offset
    return len(lines[line - 1].encode("utf-8")[:offset].decode("utf-8", "replace"))


def dotted(expr: ast.expr) -> str:
    """`a.b.c` for a Name/Attribute chain, else ""."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        base = dotted(expr.value)
        return f"{base}.{expr.attr}" if base else ""
    return ""


class Checker:
    """One concern's hooks; the engine calls them during its single pass."""

    def import_(self, ctx: Context, node: ast.Import) -> None:
        """An `import` statement."""

    def import_from(self, ctx: Context, node: ast.ImportFrom) -> None:
        """A `from ... import` statement."""

    def reference(self, ctx: Context, node: ast.expr, names: frozenset[str]) -> None:
        """A Name or Attribute that resolves to the qualified `names`."""

    def name(self, ctx: Context, node: ast.Name, name: str) -> None:
        """A Name node: a use, a binding or a deletion (definitions are not Name nodes)."""

    def attribute(self, ctx: Context, node: ast.AST, attr: str) -> None:
        """An attribute read or written: `x.attr` (`node` is the Attribute), a keyword of a
        class pattern `case C(attr=p)` (the MatchClass), or a name listed in a class's
        `__match_args__` that positional patterns read (the string)."""

    def call(self, ctx: Context, node: ast.Call, callee: frozenset[str]) -> None:
        """A call whose function resolves to `callee`."""

    def string(self, ctx: Context, node: ast.expr, value: str) -> None:
        """A literal string or bytes, or a string folded from literals."""

    def annotation_string(self, ctx: Context, node: ast.expr, value: str) -> None:
        """A string literal inside an annotation (a forward reference)."""

    def module_end(self, ctx: Context, module: ast.Module) -> None:
        """After the whole module has been visited."""
