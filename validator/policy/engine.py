"""Run every policy checker in one pass over CPython's AST, names resolved through symtable."""

from __future__ import annotations

import ast
import symtable
from collections.abc import Callable, Iterator, Sequence
from typing import Final

from validator.findings import Finding
from validator.policy.classes import ForeignClassChecker
from validator.policy.config import Policy
from validator.policy.context import Checker, Context, Method
from validator.policy.deserialise import DeserialiseChecker
from validator.policy.dunder import DunderChecker
from validator.policy.dynamic import FORMAT_METHODS, DynamicChecker
from validator.policy.encoded import EncodedChecker
from validator.policy.imports import ImportChecker
from validator.policy.io import FileIOChecker
from validator.policy.library_templates import LibraryTemplateChecker
from validator.policy.names import CLASS_NAME_ATTRS
from validator.policy.patterns import ClassPatternChecker
from validator.policy.reduce import ReduceChecker
from validator.policy.rules import rule
from validator.policy.scopes import COMPREHENSION_BLOCKS, Scope, ScopeKind, module_scope
from validator.policy.setters import SetterChecker
from validator.policy.signature import EntrypointChecker
from validator.policy.streams import StreamChecker
from validator.policy.tamper import ModuleTamperChecker

CHECKERS: Final[tuple[Checker, ...]] = (
    ImportChecker(),
    DynamicChecker(),
    DunderChecker(),
    FileIOChecker(),
    DeserialiseChecker(),
    EncodedChecker(),
    EntrypointChecker(),
    LibraryTemplateChecker(),
    SetterChecker(),
    ReduceChecker(),
    ForeignClassChecker(),
    ModuleTamperChecker(),
    StreamChecker(),
    ClassPatternChecker(),
)
SCRIPT_NAME: Final = "<script>"
MATCH_ARGS: Final = "__match_args__"
# Methods that change a container in place (so its items are no longer what was written).
_MUTATORS: Final = frozenset(
    {"add", "append", "extend", "insert", "setdefault", "symmetric_difference_update",
     "update", "__iadd__", "__ior__", "__ixor__", "__setitem__"}
)

# Flags carried with each node on the traversal stack.
_DIRECT: Final = 1  # a statement directly in a module or class body: it runs unconditionally
_ANNOTATION: Final = 2  # inside an annotation
_NO_BLOCKS: Final = 4  # in an annotation symtable never saw (`from __future__ import annotations`)
_ENTER: Final = 8  # open the block of this def, lambda, class or comprehension
_INHERITED: Final = _ANNOTATION | _NO_BLOCKS

_Entry = tuple[ast.AST, Scope, int, int]  # node, scope, statement index in that scope, flags
_SKIPPED_FIELDS: Final = frozenset({"ctx", "op", "ops", "type_ignores"})
_UNKNOWN: Final[tuple[None]] = (None,)  # a binding whose value the analysis cannot know


def run_policy(
    source: str, policy: Policy | None = None, tree: ast.Module | None = None
) -> list[Finding]:
    """All policy findings for `source`, before tenant overrides are applied.

    Pass `tree` when the caller has parsed `source` already; it is not modified.
    """
    if tree is None:
        tree = ast.parse(source, SCRIPT_NAME)
    try:
        table = symtable.symtable(source, SCRIPT_NAME, "exec")
    except SyntaxError as exc:  # parses, but cannot compile (e.g. `nonlocal` at module level)
        return [rule("EP001").finding(exc.msg, exc.lineno, exc.offset)]
    ctx = Context(policy or Policy(), source)
    _PolicyPass(ctx, CHECKERS, tree, table).run()
    return ctx.findings()


class _Hooks:
    """For each hook, only the checkers that implement it (the pass calls them per node)."""

    def __init__(self, checkers: Sequence[Checker]) -> None:
        def implementing(hook: str) -> tuple[Checker, ...]:
            default = getattr(Checker, hook)
            return tuple(c for c in checkers if getattr(type(c), hook) is not default)

        self.all = tuple(checkers)
        self.import_ = implementing("import_")
        self.import_from = implementing("import_from")
        self.reference = implementing("reference")
        self.name = implementing("name")
        self.attribute = implementing("attribute")
        self.call = implementing("call")
        self.string = implementing("string")
        self.annotation_string = implementing("annotation_string")


class _PolicyPass:
    """One iterative traversal in symtable's block order (so blocks on one line match up);
    local hooks run on the way, name resolution at the end, once every binding is known,
    including bindings that come after their use (module globals used in functions)."""

    def __init__(
        self,
        ctx: Context,
        checkers: Sequence[Checker],
        tree: ast.Module,
        table: symtable.SymbolTable,
    ) -> None:
        self.ctx = ctx
        self._tree = tree
        self._module = module_scope(table)
        self._hooks = _Hooks(checkers)
        self._annotation_flags = _ANNOTATION | (_NO_BLOCKS if _future_annotations(tree) else 0)
        self._stack: list[_Entry] = []
        # id(target Name) -> the expressions it is bound to, taken when the Name is reached.
        self._values: dict[int, Sequence[ast.expr]] = {}
        self._declared_only: set[int] = set()  # `x: int` declares, binds nothing
        self._references: list[ast.expr] = []
        self._calls = ctx.calls
        ctx.attribute_rules = self._attribute_rules
        self._checked_match_args: set[int] = set()  # `__match_args__` targets of plain `=`
        self._recorded_targets: set[int] = set()  # attribute targets with a recorded value
        self._visitors: dict[type[ast.AST], Callable[..., None]] = {
            ast.Name: self._name,
            ast.Attribute: self._attribute,
            ast.Call: self._call,
            ast.Constant: self._constant,
            ast.BinOp: self._binop,
            ast.Import: self._import,
            ast.ImportFrom: self._import_from,
            ast.Assign: self._assign,
            ast.AugAssign: self._aug_assign,
            ast.AnnAssign: self._ann_assign,
            ast.NamedExpr: self._named_expr,
            ast.For: self._for,
            ast.AsyncFor: self._for,
            ast.FunctionDef: self._function,
            ast.AsyncFunctionDef: self._function,
            ast.Lambda: self._lambda,
            ast.ClassDef: self._class,
            ast.Try: self._try,
            ast.TryStar: self._try,
            ast.ExceptHandler: self._except_handler,
            ast.MatchAs: self._capture,
            ast.MatchStar: self._capture,
            ast.MatchMapping: self._capture,
            ast.MatchClass: self._match_class,
            ast.Subscript: self._subscript,
            ast.Compare: self._compare,
            **{kind: self._comprehension for kind in COMPREHENSION_BLOCKS},
        }

    def run(self) -> None:
        self._push_body(self._tree.body, self._module)
        stack, visitors, push_children = self._stack, self._visitors, self._push_children
        while stack:
            node, scope, position, flags = stack.pop()
            if flags & _ENTER:
                self._open_block(node, scope, position, flags & _INHERITED)
                continue
            visit = visitors.get(type(node))
            if visit is None:
                push_children(node, scope, position, flags)
            else:
                visit(node, scope, position, flags)
        self._resolve_all()

    def _attribute_rules(self, node: ast.AST, attr: str) -> None:
        for checker in self._hooks.attribute:
            checker.attribute(self.ctx, node, attr)

    def _resolve_all(self) -> None:
        ctx, hooks = self.ctx, self._hooks
        for node in self._references:
            names = ctx.resolve(node)
            if names:
                for checker in hooks.reference:
                    checker.reference(ctx, node, names)
        for call in self._calls:
            callee = ctx.resolve(call.func)
            for checker in hooks.call:
                checker.call(ctx, call, callee)
        for checker in hooks.all:
            checker.module_end(ctx, self._tree)

    # --- traversal -------------------------------------------------------------------

    def _push_children(self, node: ast.AST, scope: Scope, position: int, flags: int) -> None:
        push = self._stack.append
        flags &= _INHERITED
        for field in _child_fields(type(node)):
            value = getattr(node, field, None)
            if isinstance(value, list):
                for item in reversed(value):
                    if isinstance(item, ast.AST):
                        push((item, scope, position, flags))
            elif isinstance(value, ast.AST):
                push((value, scope, position, flags))

    def _push_in_order(self, nodes: Sequence[ast.AST | None], scope: Scope, position: int,
                       flags: int) -> None:
        """Visit `nodes` next, first to last (the stack is last in, first out)."""
        push = self._stack.append
        for node in reversed(nodes):
            if node is not None:
                push((node, scope, position, flags))

    def _push_body(self, body: list[ast.stmt], scope: Scope) -> None:
        push = self._stack.append
        for index in range(len(body) - 1, -1, -1):
            push((body[index], scope, index, _DIRECT))

    # --- names and bindings ----------------------------------------------------------

    def _name(self, node: ast.Name, scope: Scope, position: int, flags: int) -> None:
        name = node.id  # ast has NFKC-normalised identifiers already, as the compiler does
        for checker in self._hooks.name:
            checker.name(self.ctx, node, name)
        context = type(node.ctx)
        if flags & _ANNOTATION:
            self.ctx.annotation_nodes.add(id(node))
        if context is ast.Load:
            self.ctx.use_site(node, scope, position)
            self._references.append(node)
        elif context is ast.Store:
            key = id(node)
            if name == MATCH_ARGS:
                self._unchecked_match_args(node)
            if key in self._declared_only:
                return
            self.ctx.names_bound_anywhere.add(name)
            for value in self._values.pop(key, _UNKNOWN):
                scope.bind(name, value)
        else:
            scope.delete(name)

    def _bind(self, scope: Scope, name: str, value: str | None, position: int, flags: int) -> None:
        """A binding by a statement (import, def, class) rather than by a Name node."""
        self.ctx.names_bound_anywhere.add(name)
        scope.bind(name, value)
        if flags & _DIRECT:
            scope.bind_unconditionally(name, position)

    def _assign(self, node: ast.Assign, scope: Scope, position: int, flags: int) -> None:
        for target in node.targets:
            self._record_values(target, node.value)
            self._stored(target, node.value)
            if flags & _DIRECT:
                for name in _target_names(target):
                    scope.bind_unconditionally(name, position)
        self._push_children(node, scope, position, flags)

    def _aug_assign(self, node: ast.AugAssign, scope: Scope, position: int, flags: int) -> None:
        if isinstance(node.target, ast.Attribute):
            # `x.attr += value` stores what the script computed: record it as built here.
            built = ast.BinOp(left=node.target, op=node.op, right=node.value)
            self._recorded_targets.add(id(node.target))
            self.ctx.attribute_stores.setdefault(node.target.attr, []).append(
                ast.copy_location(built, node))
        elif isinstance(node.target, ast.Name):
            self.ctx.augmented_values.setdefault(node.target.id, []).append(node.value)
        self._push_children(node, scope, position, flags)

    def _ann_assign(self, node: ast.AnnAssign, scope: Scope, position: int, flags: int) -> None:
        if node.value is not None:
            self._record_values(node.target, node.value)
            self._stored(node.target, node.value)
            if flags & _DIRECT and isinstance(node.target, ast.Name):
                scope.bind_unconditionally(node.target.id, position)
        elif isinstance(node.target, ast.Name):
            self._declared_only.add(id(node.target))
        inherited = flags & _INHERITED
        push = self._stack.append
        if node.value is not None:
            push((node.value, scope, position, inherited))
        push((node.annotation, scope, position, self._annotation_flags))
        push((node.target, scope, position, inherited))

    def _named_expr(self, node: ast.NamedExpr, scope: Scope, position: int, flags: int) -> None:
        self._values[id(node.target)] = (node.value,)
        self._push_children(node, scope, position, flags)

    def _for(self, node: ast.For | ast.AsyncFor, scope: Scope, position: int, flags: int) -> None:
        self._record_elements(node.target, node.iter)
        self.ctx.note_loop(scope, node.target, node.iter)
        self.ctx.note_items_loop(scope, node.target, node.iter)
        self.ctx.read_in_place.add(id(node.iter))
        self._push_children(node, scope, position, flags)

    def _record_elements(self, target: ast.expr, iterable: ast.expr) -> None:
        """`for name in (a, b)` binds `name` to each of `a` and `b`."""
        if (
            isinstance(target, ast.Name)
            and isinstance(iterable, ast.List | ast.Tuple | ast.Set)
            and not any(isinstance(e, ast.Starred) for e in iterable.elts)
        ):
            self._values[id(target)] = iterable.elts

    def _record_values(self, target: ast.expr, value: ast.expr) -> None:
        """Remember `name = value` (and same-shape tuple unpacking) so aliases resolve."""
        if isinstance(target, ast.Name):
            self._values[id(target)] = (value,)
        for part, part_value in _unpacked_pairs(target, value):
            self._record_values(part, part_value)

    def _class_body_import(self, node: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        """`class K: import sys` (or `from sys import stderr as s`) makes a module or a
        module's value the class attribute `K.sys`, which no name resolves: every check
        that follows modules by name (denied APIs, tampering, streams) would miss it."""
        if scope.kind == "class":
            self.ctx.report("EP106", node, "import in a class body: it binds a module or its "
                            "value as a class attribute the analysis cannot follow")

    def _import(self, node: ast.Import, scope: Scope, position: int, flags: int) -> None:
        self._class_body_import(node, scope)
        for checker in self._hooks.import_:
            checker.import_(self.ctx, node)
        for alias in node.names:
            if alias.asname:
                self._bind(scope, alias.asname, alias.name, position, flags)
            else:
                root = alias.name.split(".", 1)[0]
                self._bind(scope, root, root, position, flags)

    def _import_from(self, node: ast.ImportFrom, scope: Scope, position: int, flags: int) -> None:
        self._class_body_import(node, scope)
        for checker in self._hooks.import_from:
            checker.import_from(self.ctx, node)
        for alias in node.names:
            if alias.name == "*":
                continue
            qualified = None if node.level else f"{node.module}.{alias.name}"
            self._bind(scope, alias.asname or alias.name, qualified, position, flags)

    def _except_handler(
        self, node: ast.ExceptHandler, scope: Scope, position: int, flags: int
    ) -> None:
        if node.name:
            self.ctx.names_bound_anywhere.add(node.name)
            scope.bind(node.name, None)
            scope.delete(node.name)  # when the handler ends
        self._push_children(node, scope, position, flags)

    def _capture(
        self, node: ast.MatchAs | ast.MatchStar | ast.MatchMapping, scope: Scope, position: int,
        flags: int,
    ) -> None:
        name = node.rest if isinstance(node, ast.MatchMapping) else node.name
        if name:
            self.ctx.names_bound_anywhere.add(name)
            scope.bind(name, None)
        self._push_children(node, scope, position, flags)

    def _stored(self, target: ast.expr, value: ast.expr) -> None:
        """Attribute stores (for the format check), and `__match_args__` definitions: each
        name in them is an attribute that positional class patterns read."""
        if isinstance(target, ast.Attribute):
            self.ctx.attribute_stores.setdefault(target.attr, []).append(value)
            self._recorded_targets.add(id(target))
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            self.ctx.item_values.setdefault(target.value.id, []).append(value)
            self._recorded_targets.add(id(target))
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute):
            self.ctx.attribute_item_values.setdefault(target.value.attr, []).append(value)
            self._recorded_targets.add(id(target))
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
        if name == MATCH_ARGS:
            self._checked_match_args.add(id(target))
            self._match_args(value)

    def _match_args(self, value: ast.expr) -> None:
        ctx = self.ctx
        names = [ctx.literal_str(e) for e in value.elts] if isinstance(
            value, ast.Tuple | ast.List) else [None]
        if any(name is None for name in names):
            ctx.report("EP202", value, f"`{MATCH_ARGS}` is not a tuple of literal names; "
                       "class patterns would read attributes the analysis cannot see")
            return
        assert isinstance(value, ast.Tuple | ast.List)
        for element, name in zip(value.elts, names, strict=True):
            for checker in self._hooks.attribute:
                checker.attribute(ctx, element, name or "")

    def _subscript(self, node: ast.Subscript, scope: Scope, position: int, flags: int) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.ctx.item_store_bases.add(id(node.value))
            if id(node) not in self._recorded_targets and isinstance(
                    node.value, ast.Name | ast.Attribute):
                self.ctx.opaque_item_stores.add(
                    node.value.id if isinstance(node.value, ast.Name) else node.value.attr)
            if isinstance(node.value, ast.Name):
                self.ctx.subscript_stores.add(node.value.id)
        self._push_children(node, scope, position, flags)

    def _compare(self, node: ast.Compare, scope: Scope, position: int, flags: int) -> None:
        # `x in COLLECTION` reads the collection in place.
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                self.ctx.read_in_place.add(id(right))
        self._push_children(node, scope, position, flags)

    def _unchecked_match_args(self, target: ast.expr) -> None:
        if id(target) not in self._checked_match_args:
            self.ctx.report("EP202", target, f"`{MATCH_ARGS}` set other than by `=` with a "
                            "tuple of literal names")

    def _match_class(self, node: ast.MatchClass, scope: Scope, position: int, flags: int
                     ) -> None:
        self.ctx.class_patterns.append(node)  # (patterns.py: which classes it may be)
        # `case C(attr=p)` reads `subject.attr`: every attribute rule applies to it.
        for attr in node.kwd_attrs:
            for checker in self._hooks.attribute:
                checker.attribute(self.ctx, node, attr)
        self._push_children(node, scope, position, flags)

    # --- expressions with local checks -----------------------------------------------

    def _attribute(self, node: ast.Attribute, scope: Scope, position: int, flags: int) -> None:
        for checker in self._hooks.attribute:
            checker.attribute(self.ctx, node, node.attr)
        if flags & _ANNOTATION:
            self.ctx.annotation_nodes.add(id(node))
        self.ctx.attribute_bases.add(id(node.value))
        self.ctx.attribute_parents[id(node.value)] = node
        if isinstance(node.ctx, ast.Store) and id(node) not in self._recorded_targets:
            self.ctx.opaque_attribute_stores.add(node.attr)
        self._references.append(node)
        if node.attr in FORMAT_METHODS:
            self.ctx.format_methods.append(node)
        elif node.attr in _MUTATORS and isinstance(node.value, ast.Name):
            self.ctx.subscript_stores.add(node.value.id)
            self.ctx.method_mutated.add(node.value.id)
        elif node.attr == MATCH_ARGS and not isinstance(node.ctx, ast.Load):
            self._unchecked_match_args(node)
        elif (node.attr in CLASS_NAME_ATTRS and isinstance(node.ctx, ast.Load)
              and isinstance(node.value, ast.Attribute) and node.value.attr == "__class__"):
            self.ctx.class_name_reads.add(id(node.value))  # visited next, as the child
        self._stack.append((node.value, scope, position, flags & _INHERITED))

    def _call(self, node: ast.Call, scope: Scope, position: int, flags: int) -> None:
        self.ctx.callees.add(id(node.func))
        self._calls.append(node)
        for argument in node.args:
            self.ctx.call_arguments[id(argument)] = node
        self._string(node, self.ctx.literal_str(node))  # "".join([...]) and chr(...) build names
        self._push_children(node, scope, position, flags)

    def _constant(self, node: ast.Constant, scope: Scope, position: int, flags: int) -> None:
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        elif not isinstance(value, str):
            return
        self._string(node, value)
        if flags & _ANNOTATION:
            for checker in self._hooks.annotation_string:
                checker.annotation_string(self.ctx, node, value)

    def _binop(self, node: ast.BinOp, scope: Scope, position: int, flags: int) -> None:
        value = self.ctx.literal_str(node)
        if value is None:
            self._push_children(node, scope, position, flags)
        else:
            self._string(node, value)  # every operand is a literal covered by the folded value

    def _string(self, node: ast.expr, value: str | None) -> None:
        if value:
            for checker in self._hooks.string:
                checker.string(self.ctx, node, value)

    # --- blocks, in the order symtable visits them -----------------------------------

    def _try(self, node: ast.Try | ast.TryStar, scope: Scope, position: int, flags: int) -> None:
        parts = [*node.body, *node.orelse, *node.handlers, *node.finalbody]
        self._push_in_order(parts, scope, position, flags & _INHERITED)

    def _function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope, position: int,
        flags: int,
    ) -> None:
        self._bind(scope, node.name, None, position, flags)
        key = (id(scope.owner(node.name)), scope.key(node.name))
        self.ctx.defs.setdefault(key, []).append(node)
        args = node.args
        inherited = flags & _INHERITED
        push = self._stack.append
        push((node, scope, position, inherited | _ENTER))
        self._push_in_order(node.decorator_list, scope, position, inherited)
        self._push_in_order(_annotations(args, node.returns), scope, position,
                            self._annotation_flags)
        self._push_in_order([*args.defaults, *args.kw_defaults], scope, position, inherited)

    def _lambda(self, node: ast.Lambda, scope: Scope, position: int, flags: int) -> None:
        inherited = flags & _INHERITED
        self._stack.append((node, scope, position, inherited | _ENTER))
        self._push_in_order([*node.args.defaults, *node.args.kw_defaults], scope, position,
                            inherited)

    def _class(self, node: ast.ClassDef, scope: Scope, position: int, flags: int) -> None:
        self._bind(scope, node.name, None, position, flags)
        key = (id(scope.owner(node.name)), scope.key(node.name))
        self.ctx.classes.setdefault(key, []).append(node)
        self.ctx.class_bases.update(id(base) for base in node.bases)
        inherited = flags & _INHERITED
        self._stack.append((node, scope, position, inherited | _ENTER))
        self._push_in_order([*node.bases, *node.keywords, *node.decorator_list], scope, position,
                            inherited)

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp, scope: Scope,
        position: int, flags: int,
    ) -> None:
        inherited = flags & _INHERITED
        self._stack.append((node, scope, position, inherited | _ENTER))
        # The outermost iterable is evaluated in the enclosing scope.
        self._stack.append((node.generators[0].iter, scope, position, inherited))

    def _open_block(self, node: ast.AST, scope: Scope, position: int, flags: int) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            block = self._block(scope, "function", node.name, node, position, flags)
            self.ctx.def_blocks[id(block)] = (node, scope)
            self._bind_parameters(block, node.args)
            if scope.kind == "class" and not node.decorator_list:
                self._note_method(block, node.name, node.args)
            self._push_body(node.body, block)
        elif isinstance(node, ast.ClassDef):
            block = self._block(scope, "class", node.name, node, position, flags)
            self.ctx.class_blocks[id(block)] = node
            self._push_body(node.body, block)
        elif isinstance(node, ast.Lambda):
            block = self._block(scope, "function", "lambda", node, position, flags)
            self._bind_parameters(block, node.args)
            self._stack.append((node.body, block, position, flags))
        else:
            assert isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp)
            name = COMPREHENSION_BLOCKS[type(node)]
            block = self._block(scope, "function", name, node, position, flags)
            for generator in node.generators:
                self._record_elements(generator.target, generator.iter)
                self.ctx.note_loop(block, generator.target, generator.iter)
                self.ctx.note_items_loop(block, generator.target, generator.iter)
                self.ctx.read_in_place.add(id(generator.iter))
            self._push_in_order(_comprehension_parts(node), block, position, flags)

    @staticmethod
    def _block(
        scope: Scope, kind: ScopeKind, name: str, node: ast.expr | ast.stmt, position: int,
        flags: int,
    ) -> Scope:
        return scope.child(kind, (name, node.lineno), position, in_symtable=not flags & _NO_BLOCKS)

    def _note_method(self, block: Scope, name: str, args: ast.arguments) -> None:
        positional = tuple(a.arg for a in (*args.posonlyargs, *args.args))
        self.ctx.methods[id(block)] = Method(name, positional, args.kwarg.arg if args.kwarg
                                             else None)

    def _bind_parameters(self, block: Scope, args: ast.arguments) -> None:
        if args.kwarg is not None:
            self.ctx.kwarg_parameters[id(block)] = args.kwarg.arg
        block.expect_parameters([a.arg for a in _parameters(args)])
        self.ctx.names_bound_anywhere.update(a.arg for a in _parameters(args))
        for parameter, default in _defaults(args):
            block.bind(parameter, None)  # whatever the caller passes...
            if default is not None:
                block.bind(parameter, default)  # ...or the default


def _defaults(args: ast.arguments) -> list[tuple[str, ast.expr | None]]:
    """Each parameter with its default value, if any."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults.extend(args.defaults)
    pairs = [*zip(positional, defaults, strict=True)]
    pairs.extend(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    pairs.extend((a, None) for a in (args.vararg, args.kwarg) if a is not None)
    return [(a.arg, default) for a, default in pairs]


def _parameters(args: ast.arguments) -> list[ast.arg]:
    extra = [a for a in (args.vararg, args.kwarg) if a is not None]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *extra]


def _comprehension_parts(
    node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp,
) -> list[ast.expr]:
    first, *rest = node.generators
    parts: list[ast.expr] = [first.target, *first.ifs]
    for generator in rest:
        parts.extend([generator.target, generator.iter, *generator.ifs])
    if isinstance(node, ast.DictComp):
        parts.extend([node.value, node.key])  # symtable visits the value first
    else:
        parts.append(node.elt)
    return parts


def _annotations(args: ast.arguments, returns: ast.expr | None) -> list[ast.expr | None]:
    """A signature's annotations in symtable's order."""
    return [
        *(a.annotation for a in args.posonlyargs),
        *(a.annotation for a in args.args),
        args.vararg.annotation if args.vararg else None,
        args.kwarg.annotation if args.kwarg else None,
        *(a.annotation for a in args.kwonlyargs),
        returns,
    ]


_FIELDS_CACHE: dict[type[ast.AST], tuple[str, ...]] = {}


def _child_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    """Fields that may hold child nodes, last first (for the stack)."""
    fields = _FIELDS_CACHE.get(kind)
    if fields is None:
        fields = tuple(f for f in reversed(kind._fields) if f not in _SKIPPED_FIELDS)
        _FIELDS_CACHE[kind] = fields
    return fields


def _target_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _target_names(element)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


def _unpacked_pairs(target: ast.expr, value: ast.expr) -> list[tuple[ast.expr, ast.expr]]:
    """The (target, value) pairs of `a, b = x, y`: none unless both sides have the same shape."""
    sequences = ast.Tuple | ast.List
    if not isinstance(target, sequences) or not isinstance(value, sequences):
        return []
    elements = [*target.elts, *value.elts]
    if len(target.elts) != len(value.elts) or any(isinstance(e, ast.Starred) for e in elements):
        return []
    return list(zip(target.elts, value.elts, strict=True))


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _future_annotations(tree: ast.Module) -> bool:
    """`from __future__ import annotations`: annotations stay strings, symtable skips them."""
    for index, stmt in enumerate(tree.body):
        if index == 0 and _is_docstring(stmt):
            continue
        if not (isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"):
            return False
        if any(alias.name == "annotations" for alias in stmt.names):
            return True
    return False
