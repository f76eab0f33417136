"""Issue #11: code generation in the stdlib. dataclasses builds source text from field
names and execs it; here its generator is handed crafted text directly (a field name that
lands in generated source is the same gadget one call further in).
expect: compile"""
import dataclasses


def evaluate_model(model):
    maker = dataclasses._create_fn("f", ["x=__import__('os').system('id')"], ["return x"])
    return {"made": callable(maker)}
